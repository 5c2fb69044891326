"""Modifying a working order in place (``apps.orders.modification``) against the paper book:
versions take effect from their own market time, a modification is sent once, refusals leave
the order as it was, and a strategy position's stop is modified before its target."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.lineage.models import Step
from apps.orders.broker_selection import BROKERS
from apps.orders.brokers import (
    BrokerOrderState,
    BrokerRejectedError,
    BrokerUnavailableError,
    OrderSpec,
)
from apps.orders.cancellation import OrderNotWorkingError
from apps.orders.models import (
    Fill,
    ModificationStatus,
    Order,
    OrderModification,
    PaperOrder,
    PositionAction,
)
from apps.orders.modification import (
    ModificationInFlightError,
    ModificationInvalidError,
    order_modify,
    position_exits_modify,
)
from apps.orders.monitor import orders_monitor
from apps.orders.paper_broker import PaperBroker
from apps.orders.services import bracket_submit, orders_sync
from tests.factories import make_bars
from tests.orders.helpers import AS_OF, make_bracket, make_strategy

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
BEFORE = [100.0] * 9  # Jan 1..9, before the run (AS_OF is Jan 10)
# From Jan 10 each bar opens at 100 and trades 99..101; from Jan 13 it falls to 96..101, 96..98.
FLAT_THEN_DOWN = [100.0, 100.0, 100.0, 100.0, 97.0, 97.0]


def by_role(orders: list[Order]) -> dict[str, Order]:
    return {o.role: o for o in Order.objects.filter(pk__in=[o.pk for o in orders])}


def submitted(closes: list[float], **fields: object) -> list[Order]:
    """A BUY 10 bracket (stop 95, target 110) sent to the paper book with bars ``closes``
    from Jan 10 on; ``fields`` override the strategy's (e.g. a LMT entry)."""
    strategy = make_strategy(**fields)
    make_bars(strategy.symbol, [*BEFORE, *closes], start=START)
    orders = make_bracket(strategy, entry="90")
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    return orders


def test_a_modified_limit_fills_only_on_bars_from_its_market_time() -> None:
    # given a BUY LMT 90 entry that no bar reaches (every bar from Jan 10 trades 99..101)
    orders = submitted(FLAT_THEN_DOWN, order_type="LMT")
    orders_sync(orders=orders, broker=PaperBroker())
    entry = by_role(orders)["entry"]
    assert entry.status == "submitted"

    # when it is modified to 15 at limit 99.504 (rounded to the tick) from Jan 12 on
    modification = order_modify(
        order=entry, quantity=D(15), limit_price=D("99.504"), market_time=AS_OF + 2 * DAY
    )

    # then the broker acknowledged version 1 and the order holds the new values
    assert (modification.version, modification.status) == (1, ModificationStatus.ACKNOWLEDGED)
    assert modification.previous == {
        "version": 0,
        "quantity": "10.0000",
        "limit_price": "90.00000000",
        "stop_price": None,
    }
    entry.refresh_from_db()
    assert (entry.version, entry.quantity, entry.limit_price) == (1, D(15), D("99.50"))
    # and the Jan 10 and 11 bars (low 99), which would have filled the new limit, did not:
    # the fill is on Jan 12, at the limit, for the new quantity
    orders_sync(orders=orders, broker=PaperBroker())
    [fill] = Fill.objects.filter(order=entry)
    assert (fill.executed_at, fill.quantity, fill.price) == (AS_OF + 2 * DAY, D(15), D("99.50"))
    book = PaperOrder.objects.get(client_order_ref=entry.client_order_ref)
    assert [v["version"] for v in book.versions] == [0, 1]
    # and the run's lineage has the modification
    step = Step.objects.filter(run=entry.run, name="modification").get()
    assert step.output["version"] == 1 and step.output["status"] == "acknowledged"


def test_a_stop_moved_up_triggers_from_its_own_time_not_before() -> None:
    # given a filled entry (Jan 10 open) whose stop at 95 the bars up to Jan 11 never reach
    orders = submitted(FLAT_THEN_DOWN[:2])
    orders_sync(orders=orders, broker=PaperBroker())
    stop = by_role(orders)["stop_loss"]
    assert by_role(orders)["entry"].status == "filled"

    # when the stop is raised to 99.5 from Jan 12 on and the later bars arrive
    order_modify(order=stop, stop_price=D("99.5"), market_time=AS_OF + 2 * DAY)
    make_bars(stop.symbol, FLAT_THEN_DOWN[2:], start=AS_OF + 2 * DAY)
    orders_sync(orders=orders, broker=PaperBroker())

    # then it triggers on the Jan 12 bar (low 99), not on the Jan 10/11 bars that also reach it
    [fill] = Fill.objects.filter(order=stop)
    assert fill.executed_at == AS_OF + 2 * DAY
    assert fill.price == D("99.5") - D("0.01")  # one tick of slippage
    assert by_role(orders)["take_profit"].status == "cancelled"


def test_modifying_an_order_the_book_has_filled_is_rejected_and_changes_nothing() -> None:
    # given a market entry the stored bars fill, not yet polled (Sibyl still sees it working)
    orders = submitted(FLAT_THEN_DOWN)
    entry = by_role(orders)["entry"]

    # when its quantity is modified
    with pytest.raises(BrokerRejectedError, match="Can't modify a filled order"):
        order_modify(order=entry, quantity=D(20), market_time=AS_OF + DAY)

    # then the modification is rejected with the reason and the order is unchanged
    modification = OrderModification.objects.get(order=entry)
    assert modification.status == ModificationStatus.REJECTED
    assert "Can't modify a filled order" in modification.error_message
    entry.refresh_from_db()
    assert (entry.quantity, entry.version) == (D(10), 0)
    assert PaperOrder.objects.get(client_order_ref=entry.client_order_ref).quantity == D(10)
    step = Step.objects.filter(run=entry.run, name="modification").get()
    assert "Can't modify a filled order" in step.error_message


def test_only_working_orders_with_new_values_on_their_type_are_modified() -> None:
    orders = submitted([], order_type="LMT")
    entry, stop = by_role(orders)["entry"], by_role(orders)["stop_loss"]
    with pytest.raises(ModificationInvalidError, match="nothing to modify"):
        order_modify(order=entry, limit_price=D("90"), market_time=AS_OF)
    with pytest.raises(ModificationInvalidError, match="has no limit"):
        order_modify(order=stop, limit_price=D("90"), market_time=AS_OF)
    with pytest.raises(ModificationInvalidError, match="above what is filled"):
        order_modify(order=entry, quantity=D(0), market_time=AS_OF)
    Order.objects.filter(pk=entry.pk).update(status="cancelled")
    with pytest.raises(OrderNotWorkingError):
        order_modify(order=entry, quantity=D(5), market_time=AS_OF)
    assert not OrderModification.objects.exists()


class LostAnswerBroker(PaperBroker):
    """The paper book, whose answer to the first modification is lost on the way back (it
    applies it, then raises BrokerUnavailableError); counts the modifications it gets."""

    modifies = 0

    def modify(
        self, spec: OrderSpec, *, version: int, market_time: datetime, account_key: str
    ) -> BrokerOrderState:
        LostAnswerBroker.modifies += 1
        state = super().modify(
            spec, version=version, market_time=market_time, account_key=account_key
        )
        if LostAnswerBroker.modifies == 1:
            raise BrokerUnavailableError("connection reset by peer after sending")
        return state


def test_a_modification_whose_answer_was_lost_is_read_back_not_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given the broker applies the modification but its answer is lost
    monkeypatch.setitem(BROKERS, "paper", LostAnswerBroker)
    LostAnswerBroker.modifies = 0
    orders = submitted([], order_type="LMT")
    entry = by_role(orders)["entry"]
    with pytest.raises(BrokerUnavailableError):
        order_modify(order=entry, limit_price=D("91"), market_time=AS_OF)
    pending = OrderModification.objects.get(order=entry)
    assert pending.status == ModificationStatus.REQUESTED
    assert pending.error_message.startswith("outcome unknown")
    entry.refresh_from_db()
    assert (entry.limit_price, entry.version) == (D(90), 0)

    # when the same modification is asked again
    again = order_modify(order=entry, limit_price=D("91"), market_time=AS_OF)

    # then the broker's values are read: acknowledged without a second send
    assert again.pk == pending.pk and again.status == ModificationStatus.ACKNOWLEDGED
    assert LostAnswerBroker.modifies == 1
    entry.refresh_from_db()
    assert (entry.limit_price, entry.version) == (D(91), 1)
    # and a further modification is version 2, sent once
    assert order_modify(order=entry, limit_price=D("92"), market_time=AS_OF).version == 2
    assert LostAnswerBroker.modifies == 2


def test_the_monitor_resolves_a_lost_answer_by_asking_the_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a modification the broker applied but whose answer was lost
    monkeypatch.setitem(BROKERS, "paper", LostAnswerBroker)
    LostAnswerBroker.modifies = 0
    orders = submitted([], order_type="LMT")
    entry = by_role(orders)["entry"]
    with pytest.raises(BrokerUnavailableError):
        order_modify(order=entry, quantity=D(12), market_time=AS_OF)

    # when the monitor runs
    report = orders_monitor(now=datetime.now(UTC))

    # then it read the broker's values back and acknowledged it, sending nothing again
    assert report.modifications_resolved == 1
    modification = OrderModification.objects.get(order=entry)
    assert modification.status == ModificationStatus.ACKNOWLEDGED
    assert modification.market_time == AS_OF
    assert LostAnswerBroker.modifies == 1
    entry.refresh_from_db()
    assert (entry.quantity, entry.version) == (D(12), 1)
    # and the same request again returns that modification
    assert order_modify(order=entry, quantity=D(12), market_time=AS_OF).pk == modification.pk
    assert LostAnswerBroker.modifies == 1


def test_a_modification_the_broker_never_got_is_sent_again_by_the_monitor() -> None:
    # given a modification recorded as sent, its outcome unknown, that the book never got
    orders = submitted([], order_type="LMT")
    entry = by_role(orders)["entry"]
    OrderModification.objects.create(
        order=entry,
        version=1,
        quantity=D(10),
        limit_price=D(91),
        market_time=AS_OF,
        error_message="outcome unknown: ConnectionError",
    )

    # when the monitor resolves it
    assert orders_monitor(now=datetime.now(UTC)).modifications_resolved == 1

    # then the book still held the old limit, so it was sent (once) and acknowledged
    assert OrderModification.objects.get(order=entry).status == ModificationStatus.ACKNOWLEDGED
    book = PaperOrder.objects.get(client_order_ref=entry.client_order_ref)
    assert (book.limit_price, [v["version"] for v in book.versions]) == (D(91), [0, 1])


def test_a_modification_awaiting_its_answer_blocks_another() -> None:
    orders = submitted([], order_type="LMT")
    entry = by_role(orders)["entry"]
    OrderModification.objects.create(order=entry, version=1, quantity=D(12), limit_price=D(90))
    with pytest.raises(ModificationInFlightError):
        order_modify(order=entry, quantity=D(11), market_time=AS_OF)


def test_position_exits_are_modified_stop_first_with_the_action_in_lineage() -> None:
    # given a filled entry of 10 with its stop (95) and target (110) working
    orders = submitted(FLAT_THEN_DOWN[:2])
    orders_sync(orders=orders, broker=PaperBroker())
    roles = by_role(orders)
    position = roles["entry"].strategy_position
    assert position is not None and roles["stop_loss"].strategy_position == position
    action = PositionAction.objects.create(
        kind="scale_in",
        account=roles["entry"].account,
        strategy=roles["entry"].strategy,
        strategy_position=position,
        market_time=AS_OF + 2 * DAY,
    )

    # when the exits go to 15 with a stop at 96 and the target kept
    made = position_exits_modify(
        position=position,
        quantity=D(15),
        stop_price=D(96),
        action=action,
        market_time=AS_OF + 2 * DAY,
    )

    # then the stop was modified first, both acknowledged, at the broker too
    assert [m.order.role for m in made] == ["stop_loss", "take_profit"]
    assert made[0].pk < made[1].pk
    assert {m.status for m in made} == {ModificationStatus.ACKNOWLEDGED}
    roles = by_role(orders)
    assert (roles["stop_loss"].quantity, roles["stop_loss"].stop_price) == (D(15), D(96))
    assert (roles["take_profit"].quantity, roles["take_profit"].limit_price) == (D(15), D(110))
    held = PaperBroker().lookup([roles["stop_loss"].client_order_ref])
    assert held[roles["stop_loss"].client_order_ref].holds(D(15), None, D(96))
    # and the action's lineage has both modifications
    action.refresh_from_db()
    events = action.detail["events"]
    assert [e["output"]["order"] for e in events] == [
        roles["stop_loss"].client_order_ref,
        roles["take_profit"].client_order_ref,
    ]
    # and the same request again changes nothing
    assert position_exits_modify(position=position, quantity=D(15), market_time=AS_OF) == []
