"""Order services against the embedded paper broker: a bracket is sent once, fills are recorded
once, and broker failures leave the reason on the orders."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from pytest_django.fixtures import Settings

from apps.common.decimals import round_to_tick
from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerRejectedError,
    BrokerUnavailableError,
    Execution,
)
from apps.orders.models import Fill, Order, PaperOrder
from apps.orders.paper_broker import PaperBroker
from apps.orders.services import (
    bracket_create,
    bracket_spec,
    bracket_submit,
    client_order_ref,
    orders_adopt,
    orders_sync,
)
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from tests.brokers import ScriptedBroker
from tests.factories import make_bars
from tests.orders.helpers import AS_OF, make_bracket, make_strategy
from tests.positions.helpers import net_position

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
# Bars 0..8 (Jan 1..9) close before the run (AS_OF, Jan 10); bar 9 is the first the order meets.
BEFORE = [100.0] * 9
QUIET = [100.0, 101.0, 102.0]  # opens 100, 100, 101; never reaches the 95 stop or 110 target
TO_TARGET = [100.0, 105.0, 111.0]  # the last bar opens at 105 and trades up to 112


def by_role(orders: list[Order]) -> dict[str, Order]:
    fresh = Order.objects.filter(pk__in=[o.pk for o in orders])
    return {o.role: o for o in fresh}


def submitted_bracket(closes: list[float], **strategy_fields: object) -> list[Order]:
    strategy = make_strategy(**strategy_fields)
    make_bars(strategy.symbol, [*BEFORE, *closes], start=START)
    orders = make_bracket(strategy)
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    return orders


# --- building the bracket -------------------------------------------------------------------


def test_bracket_create_builds_an_entry_with_oco_children_once() -> None:
    # given
    strategy = make_strategy()

    # when the bracket is built twice for the same run
    orders = make_bracket(strategy)
    run, signal = orders[0].run, orders[0].signal
    assert run is not None and signal is not None
    again = bracket_create(
        run=run,
        signal=signal,
        strategy=strategy,
        quantity=D("99"),
        broker_name="paper",
    )

    # then the second call returns the same three pending orders
    assert [o.pk for o in again] == [o.pk for o in orders]
    assert Order.objects.count() == 3
    roles = by_role(orders)
    run_id = orders[0].run_id
    entry, target, stop = roles["entry"], roles["take_profit"], roles["stop_loss"]
    assert (entry.side, entry.order_type, entry.limit_price, entry.time_in_force) == (
        "BUY",
        "MKT",
        None,
        "GTC",
    )
    assert (target.side, target.order_type, target.limit_price) == ("SELL", "LMT", D("110"))
    assert (stop.side, stop.order_type, stop.stop_price) == ("SELL", "STP", D("95"))
    assert {target.time_in_force, stop.time_in_force} == {"GTC"}
    assert target.parent_id == stop.parent_id == entry.pk
    assert target.oca_group == stop.oca_group == f"sibyl-{run_id}-oca"
    assert entry.client_order_ref == f"sibyl-{run_id}-entry"
    assert {o.status for o in roles.values()} == {"pending"}
    assert {o.quantity for o in roles.values()} == {D("10")}


def test_a_sell_limit_bracket_rounds_prices_to_the_tick() -> None:
    strategy = make_strategy(order_type="LMT", time_in_force="DAY")

    orders = make_bracket(strategy, action="SELL", entry="100.004", stop="105.016", target="90.005")

    roles = by_role(orders)
    assert (roles["entry"].side, roles["entry"].limit_price) == ("SELL", D("100.00"))
    assert roles["entry"].time_in_force == "DAY"
    assert (roles["take_profit"].side, roles["take_profit"].limit_price) == ("BUY", D("90.00"))
    assert (roles["stop_loss"].side, roles["stop_loss"].stop_price) == ("BUY", D("105.02"))


def test_client_order_ref_names_the_run_and_role() -> None:
    assert client_order_ref(42, "entry") == "sibyl-42-entry"


@pytest.mark.parametrize(
    ("price", "tick", "expected"),
    [
        ("100.004", "0.01", "100.00"),
        ("100.006", "0.01", "100.01"),
        ("100.005", "0.01", "100.00"),  # half to even: 10000.5 ticks → 10000
        ("100.015", "0.01", "100.02"),  # 10001.5 ticks → 10002
        ("10.12", "0.25", "10.00"),  # 40.48 ticks → 40
        ("10.13", "0.25", "10.25"),  # 40.52 ticks → 41
        ("1.234", "0.05", "1.25"),  # 24.68 ticks → 25
        ("4321", "5", "4320"),
        ("0.123456", "0.0001", "0.1235"),
    ],
)
def test_round_to_tick(price: str, tick: str, expected: str) -> None:
    assert round_to_tick(D(price), D(tick)) == D(expected)


# --- submitting once ------------------------------------------------------------------------


def test_bracket_submit_twice_sends_the_bracket_once() -> None:
    # given a pending bracket and bars for the paper broker's pre-trade check
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy)
    broker = PaperBroker()

    # when it is submitted twice
    bracket_submit(orders=orders, broker=broker, market_time=AS_OF)
    bracket_submit(orders=orders, broker=broker, market_time=AS_OF)

    # then the broker's book holds it once and each order was attempted once
    assert PaperOrder.objects.count() == 3
    paper = {p.client_order_ref: p for p in PaperOrder.objects.all()}
    for order in by_role(orders).values():
        assert (order.status, order.attempts) == ("submitted", 1)
        assert order.broker_order_id == f"paper-{paper[order.client_order_ref].pk}"
        assert order.submitted_at is not None
    roles = by_role(orders)
    stop_in_book = paper[roles["stop_loss"].client_order_ref]
    assert stop_in_book.parent_ref == roles["entry"].client_order_ref
    assert {p.accepted_at for p in paper.values()} == {AS_OF}


def _held_by(broker: PaperBroker, strategy: Strategy, orders: list[Order]) -> None:
    broker.submit_bracket(bracket_spec(orders, market_time=AS_OF))


def test_a_claimed_bracket_is_never_sent_again_and_is_adopted_in_doubt() -> None:
    # given a bracket claimed for submission that the broker accepted, and a crash before
    # Sibyl recorded the answer: the orders stay "submitting"
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy)
    broker = PaperBroker()
    _held_by(broker, strategy, orders)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="submitting", attempts=1)

    # when Sibyl submits the bracket again, then reconciles it by reference
    bracket_submit(orders=orders, broker=broker, market_time=AS_OF)
    assert orders_adopt(orders=orders, broker=broker) == [o.client_order_ref for o in orders]

    # then nothing was re-sent: the broker's orders are adopted (and the entry's fill synced)
    assert PaperOrder.objects.count() == 3
    paper = {p.client_order_ref: p.pk for p in PaperOrder.objects.all()}
    adopted = by_role(orders)
    assert {role: o.status for role, o in adopted.items()} == {
        "entry": "filled",
        "take_profit": "submitted",
        "stop_loss": "submitted",
    }
    for order in adopted.values():
        assert order.attempts == 1
        assert order.broker_order_id == f"paper-{paper[order.client_order_ref]}"


def test_a_resubmission_asks_the_broker_first_and_adopts_what_it_holds() -> None:
    # given a bracket whose first attempt failed in transit although the broker took it
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy)
    broker = PaperBroker()
    _held_by(broker, strategy, orders)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="pending", attempts=1)

    # when it is submitted again
    bracket_submit(orders=orders, broker=broker, market_time=AS_OF)

    # then the broker was asked by reference and its orders adopted, not sent twice
    assert PaperOrder.objects.count() == 3
    assert {(o.status, o.attempts) for o in by_role(orders).values()} == {("submitted", 2)}


def test_a_broker_rejection_marks_the_orders_rejected_with_the_reason(
    settings: Settings,
) -> None:
    # given a buying power below the order value (10 × last close 100 = 1000)
    settings.PAPER_BUYING_POWER = D("500")
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy)

    # when
    with pytest.raises(BrokerRejectedError, match="insufficient buying power"):
        bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)

    # then every order is rejected with the broker's reason, and the book is empty
    for order in by_role(orders).values():
        assert (order.status, order.attempts) == ("rejected", 1)
        assert "order value 1000.00 exceeds 500.00" in order.error_message
    assert not PaperOrder.objects.exists()

    # and a rejection is final: submitting again neither re-sends nor raises
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    assert not PaperOrder.objects.exists()
    assert {o.attempts for o in by_role(orders).values()} == {1}


def test_a_zero_quantity_is_rejected_by_the_paper_broker() -> None:
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy, quantity="0")

    with pytest.raises(BrokerRejectedError, match="quantity must be positive"):
        bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)

    assert {o.status for o in by_role(orders).values()} == {"rejected"}


def test_a_rejection_raised_by_another_broker_keeps_its_message() -> None:
    strategy = make_strategy()
    orders = make_bracket(strategy)
    broker = ScriptedBroker(error=BrokerRejectedError("201: order rejected - margin"))

    with pytest.raises(BrokerRejectedError):
        bracket_submit(orders=orders, broker=broker, market_time=AS_OF)

    assert {(o.status, o.error_message) for o in by_role(orders).values()} == {
        ("rejected", "201: order rejected - margin")
    }


def test_an_unexpected_broker_error_marks_the_orders_failed() -> None:
    # given a broker whose connection drops during submission
    strategy = make_strategy()
    orders = make_bracket(strategy)
    broker = ScriptedBroker(error=ConnectionError("connection reset by peer"))

    # when
    with pytest.raises(BrokerUnavailableError, match="connection reset by peer"):
        bracket_submit(orders=orders, broker=broker, market_time=AS_OF)

    # then the bracket was offered once, whole, and each order records the error
    assert len(broker.submissions) == 1
    spec = broker.submissions[0]
    assert [o.role for o in spec.orders] == ["entry", "take_profit", "stop_loss"]
    assert (spec.symbol_id, spec.bar_size, spec.market_time) == (
        strategy.symbol_id,
        "1 day",
        AS_OF,
    )
    assert spec.orders[1].parent_ref == spec.orders[0].client_order_ref
    for order in by_role(orders).values():
        assert order.status == "failed"
        assert order.error_message == "ConnectionError: connection reset by peer"
        assert order.attempts == 1


# --- recording fills once -------------------------------------------------------------------


def test_orders_sync_twice_records_each_fill_once() -> None:
    # given a submitted market buy of 10 whose first bar opens at 100
    orders = submitted_bracket(QUIET)

    # when the broker is polled twice
    first = orders_sync(orders=orders, broker=PaperBroker())
    second = orders_sync(orders=orders, broker=PaperBroker())

    # then the entry fill is recorded once: 100 + 1 tick slippage, commission max(1, 0.05)
    assert first.new_fills == 1
    assert (second.new_fills, second.status_changes) == (0, 0)
    fill = Fill.objects.get()
    assert (fill.quantity, fill.price, fill.commission, fill.executed_at) == (
        D("10"),
        D("100.01"),
        D("1.0000"),
        AS_OF,
    )
    # average cost (10 × 100.01 + 1) / 10 = 100.11
    position = StrategyPosition.objects.get(symbol_id=fill.order.symbol_id)
    assert (position.quantity, position.average_cost) == (D("10"), D("100.11"))
    roles = by_role(orders)
    entry = roles["entry"]
    assert (entry.status, entry.filled_quantity, entry.avg_fill_price) == (
        "filled",
        D("10"),
        D("100.01"),
    )
    assert (entry.commission, entry.filled_at) == (D("1"), AS_OF)
    assert {roles["take_profit"].status, roles["stop_loss"].status} == {"submitted"}


def test_bracket_submit_with_sync_records_the_acceptance_and_the_first_fill_together() -> None:
    # given a pending market buy of 10 whose first bar opens at 100
    strategy = make_strategy()
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy)

    # when it is submitted with the immediate poll
    report = bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF, sync=True)

    # then it went out once, the entry filled at 100.01 and the children work
    assert report is not None
    assert (report.new_fills, report.status_changes) == (1, 0)
    roles = by_role(orders)
    assert (roles["entry"].status, roles["entry"].attempts) == ("filled", 1)
    assert roles["entry"].submitted_at is not None
    assert {roles["take_profit"].status, roles["stop_loss"].status} == {"submitted"}
    assert all(o.broker_order_id.startswith("paper-") for o in roles.values())
    assert PaperOrder.objects.count() == 3
    assert Fill.objects.get().price == D("100.01")


class _PollFails(ScriptedBroker):
    def poll(self, refs: list[str]) -> tuple[list[BrokerOrderState], list[Execution]]:
        raise ConnectionError("connection reset by peer")


def test_a_failed_poll_after_the_submission_still_records_the_acceptance() -> None:
    # given a broker that accepts the bracket and then cannot be polled
    orders = make_bracket(make_strategy())
    broker = _PollFails()

    # when it is submitted with the immediate poll
    with pytest.raises(ConnectionError):
        bracket_submit(orders=orders, broker=broker, market_time=AS_OF, sync=True)

    # then the bracket was sent once and its orders work with the broker's ids
    assert broker.submits == 1
    roles = by_role(orders)
    assert {o.status for o in roles.values()} == {"submitted"}
    assert sorted(o.broker_order_id for o in roles.values()) == ["b-1", "b-2", "b-3"]


def test_orders_sync_records_a_round_trip_with_its_realized_pnl() -> None:
    # given a long entry at 100.01 (average cost 100.11) and a bar that opens at 105
    # and trades up to 112, through the 110 target
    orders = submitted_bracket(TO_TARGET)

    # when
    report = orders_sync(orders=orders, broker=PaperBroker())
    orders_sync(orders=orders, broker=PaperBroker())

    # then the target sells 10 at 110 with commission 1: (110 − 100.11) × 10 − 1 = 97.90
    assert report.new_fills == 2
    assert report.status_changes == 1  # the stop-loss, cancelled as the target's OCA sibling
    roles = by_role(orders)
    target, stop = roles["take_profit"], roles["stop_loss"]
    assert (target.status, target.avg_fill_price, target.realized_pnl) == (
        "filled",
        D("110"),
        D("97.9"),
    )
    assert (stop.status, stop.error_message) == (
        "cancelled",
        f"OCA: {target.client_order_ref} filled",
    )
    assert stop.cancelled_at is not None
    assert Fill.objects.count() == 2
    assert Fill.objects.get(order=target).realized_pnl == D("97.9")
    position = StrategyPosition.objects.get(symbol_id=target.symbol_id)
    assert (position.quantity, position.average_cost, position.realized_pnl) == (
        D(0),
        D(0),
        D("97.9"),
    )


def test_fills_on_bars_that_arrive_later_are_added_without_repeating_earlier_ones() -> None:
    # given an entry filled and recorded while only the quiet bars existed
    orders = submitted_bracket(QUIET)
    orders_sync(orders=orders, broker=PaperBroker())
    symbol = orders[0].symbol

    # when two new bars arrive: Jan 13 around 102, then Jan 14 falling from 102 to 90 (low 89)
    make_bars(symbol, [102.0, 90.0], start=datetime(2020, 1, 13, tzinfo=UTC))
    report = orders_sync(orders=orders, broker=PaperBroker())

    # then only the stop's fill is new: it fills at the 95 stop less one tick
    assert report.new_fills == 1
    stop = by_role(orders)["stop_loss"]
    assert (stop.status, stop.avg_fill_price) == ("filled", D("94.99"))
    assert Fill.objects.count() == 2
    assert net_position(symbol) == 0


def test_a_day_entry_that_expires_cancels_the_whole_bracket_in_sibyl() -> None:
    # given a DAY buy limit at 90 that the bars (around 100) never reach;
    # daily bars at 00:00 UTC fall on consecutive New York evenings
    strategy = make_strategy(order_type="LMT", time_in_force="DAY")
    make_bars(strategy.symbol, [*BEFORE, *QUIET], start=START)
    orders = make_bracket(strategy, entry="90", stop="85", target="100")
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)

    # when
    report = orders_sync(orders=orders, broker=PaperBroker())

    # then
    assert (report.new_fills, report.status_changes) == (0, 3)
    roles = by_role(orders)
    assert (roles["entry"].status, roles["entry"].error_message) == (
        "cancelled",
        "DAY order expired unfilled",
    )
    for role in ("take_profit", "stop_loss"):
        assert (roles[role].status, roles[role].error_message) == ("cancelled", "parent cancelled")
    assert not StrategyPosition.objects.exists()


def test_an_entry_on_the_last_bar_leaves_the_children_working() -> None:
    # given only the first bar after the run exists
    orders = submitted_bracket([100.0])

    # when
    orders_sync(orders=orders, broker=PaperBroker())

    # then
    roles = by_role(orders)
    assert roles["entry"].status == "filled"
    assert {roles["take_profit"].status, roles["stop_loss"].status} == {"submitted"}


class LockProbingBroker(ScriptedBroker):
    """Accepts a bracket after checking, from another connection, that its rows are free."""

    def __init__(self) -> None:
        super().__init__(error=ConnectionError("unused"))
        self.rows_free: bool | None = None

    def submit_bracket(self, bracket: BracketSpec) -> list[BrokerOrderState]:
        refs = [spec.client_order_ref for spec in bracket.orders]

        def probe() -> None:
            try:
                with transaction.atomic():
                    found = Order.objects.select_for_update(nowait=True).filter(
                        client_order_ref__in=refs
                    )
                    self.rows_free = len(found) == len(refs)
            except DatabaseError:
                self.rows_free = False
            finally:
                connection.close()

        thread = threading.Thread(target=probe)
        thread.start()
        thread.join()
        return [BrokerOrderState(ref, f"b-{ref}", "submitted") for ref in refs]


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_broker_is_called() -> None:
    # given a broker that may take seconds (IBKR waits for acknowledgements)
    strategy = make_strategy()
    orders = make_bracket(strategy)
    broker = LockProbingBroker()
    # when the bracket is submitted
    bracket_submit(orders=orders, broker=broker, market_time=AS_OF)
    # then its rows were free during the call (event recorders can write) and it was claimed
    assert broker.rows_free is True
    assert {(o.status, o.attempts) for o in by_role(orders).values()} == {("submitted", 1)}
