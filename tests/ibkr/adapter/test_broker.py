"""The IBKR broker through the real ib_async client and a loopback TWS simulator: brackets,
OCA, partial fills, rejections, and reconciliation by orderRef after connection trouble."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.gateway import ibkr_broker, ibkr_connection, ibkr_connection_close
from apps.orders.broker_selection import broker_for
from apps.orders.brokers import BrokerRejectedError, BrokerUnavailableError
from apps.orders.models import Fill, Order
from apps.orders.monitor import orders_retry
from apps.orders.services import bracket_submit, orders_sync
from apps.symbols.models import Symbol
from tests.factories import AccountFactory, StrategyFactory, SymbolFactory
from tests.ibkr.adapter.helpers import AS_OF, GOOG_CONID, live_bracket, wait_for
from tests.orders.helpers import make_bracket
from tests.positions.helpers import last_position, net_position

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def goog_listing(db: None) -> Symbol:
    return SymbolFactory.create(
        symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ", min_tick=D("0.01")
    )


def statuses(orders: list[Order]) -> dict[str, str]:
    return {o.role: o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])}


def submit(orders: list[Order]) -> None:
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)


def test_live_strategy_gets_ibkr_and_paper_account_is_detected(connection: IbkrConnection) -> None:
    broker = broker_for(trading_mode="live", account_broker="ibkr")
    assert broker.name == "ibkr"
    assert broker.lookup(["sibyl-0-entry"]) == {}
    assert connection.account == "DU123456" and connection.is_paper


def test_readonly_refuses_live_orders(ibkr_settings: Any) -> None:
    ibkr_settings.IBKR_READONLY = True
    with pytest.raises(BrokerUnavailableError, match="IBKR_READONLY=false"):
        broker_for(trading_mode="live", account_broker="ibkr")
    assert broker_for(trading_mode="paper").name == "paper"


def test_bracket_fills_parent_then_take_profit_and_oca_cancels_the_stop(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given a BUY 10 GOOG bracket: limit 800, target 820, stop 780 (price now 806.19)
    orders = live_bracket(goog_listing)
    submit(orders)
    assert statuses(orders) == {
        "entry": "submitted",
        "take_profit": "submitted",
        "stop_loss": "submitted",
    }
    sent = {o["order_ref"]: o for o in simulator.orders()}
    entry_ref = orders[0].client_order_ref
    assert sent[entry_ref]["order_type"] == "LMT"
    assert sent[orders[1].client_order_ref]["oca_group"] == orders[1].oca_group != ""
    # when the price falls through the limit, then rises through the target
    simulator.set_price(GOOG_CONID, D("799.50"))
    wait_for(lambda: statuses(orders)["entry"] == "filled")
    simulator.set_price(GOOG_CONID, D("821.00"))
    wait_for(lambda: statuses(orders)["take_profit"] == "filled")
    # then the stop is cancelled by OCA (TWS's error 202 recorded in the paper broker's neutral
    # wording), each execution is recorded once, the position is flat
    wait_for(lambda: statuses(orders)["stop_loss"] == "cancelled")
    stop = Order.objects.get(pk=orders[2].pk)
    assert stop.error_message == f"OCA: {orders[1].client_order_ref} filled"
    fills = list(Fill.objects.filter(order__in=orders).order_by("executed_at"))
    assert [(f.order.role, f.quantity, f.price) for f in fills] == [
        ("entry", D(10), D("799.5")),
        ("take_profit", D(10), D("821")),
    ]
    assert all(f.commission == D("1.00") for f in fills)
    position = last_position(goog_listing)
    assert position.quantity == 0
    assert position.realized_pnl == D("215.00") - D("2.00")
    assert all(sent_order["status"] != "PendingSubmit" for sent_order in simulator.orders())


def test_an_order_for_an_account_the_gateway_does_not_manage_is_refused_unsent(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given a live strategy on an IBKR account the simulator's login does not manage
    account = AccountFactory.create(broker="ibkr", broker_account_id="DU7777777")
    strategy = StrategyFactory.create(
        account=account, symbol=goog_listing, order_type="LMT", trading_mode="live"
    )
    orders = make_bracket(
        strategy, entry="800", stop="780", target="820", as_of=AS_OF, broker_name="ibkr"
    )
    # when it is submitted, then it is refused naming the id and the managed accounts
    with pytest.raises(BrokerRejectedError) as caught:
        submit(orders)
    assert str(caught.value) == (
        "IBKR account DU7777777 is not managed by this gateway (it manages DU123456); "
        "nothing was sent"
    )
    # and nothing reached TWS; the orders are rejected with the reason
    assert simulator.orders() == []
    assert set(statuses(orders).values()) == {"rejected"}
    assert "DU7777777" in Order.objects.get(pk=orders[0].pk).error_message


def test_partial_then_full_fill_recorded_once_each(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    simulator.split_next_fill([D(4), D(6)])
    orders = live_bracket(goog_listing, order_type="MKT")
    submit(orders)
    entry = orders[0]
    wait_for(lambda: Order.objects.get(pk=entry.pk).status == "filled")
    # a poll that sees the same executions again records nothing new
    report = orders_sync(orders=orders, broker=ibkr_broker())
    assert report.new_fills == 0
    entry.refresh_from_db()
    assert [f.quantity for f in entry.fills.order_by("executed_at", "id")] == [D(4), D(6)]
    assert entry.filled_quantity == D(10)
    assert entry.avg_fill_price == D("806.19")
    assert Fill.objects.count() == 2


def test_rejected_order_is_marked_rejected_and_never_retried(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    simulator.reject_next_order(code=201, message="Order rejected - reason:Insufficient margin")
    orders = live_bracket(goog_listing)
    with pytest.raises(BrokerRejectedError, match="Insufficient margin"):
        submit(orders)
    assert set(statuses(orders).values()) == {"rejected"}
    report = orders_retry(now=datetime.now(UTC) + timedelta(days=1))
    assert report.resubmitted == 0
    assert simulator.place_count(orders[0].client_order_ref) == 1


def test_drop_after_place_order_finds_the_order_by_ref_and_never_resends(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given the connection drops after placeOrder, before TWS acknowledges it
    simulator.drop_after_next_place_order()
    orders = live_bracket(goog_listing)
    with pytest.raises(BrokerUnavailableError, match="outcome is unknown"):
        submit(orders)
    # then the reconnect reconciles by orderRef: the orders are adopted, not failed
    wait_for(lambda: set(statuses(orders).values()) == {"submitted"})
    # and neither the retry pass nor a second submit sends anything again
    assert orders_retry(now=datetime.now(UTC) + timedelta(days=1)).resubmitted == 0
    submit(orders)
    for order in orders:
        assert simulator.place_count(order.client_order_ref) == 1
        order.refresh_from_db()
        assert order.broker_order_id


def test_fill_while_disconnected_is_recorded_on_reconnect(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    orders = live_bracket(goog_listing)
    submit(orders)
    # given Sibyl is not connected (the worker restarted) while the entry fills
    ibkr_connection_close()
    simulator.set_price(GOOG_CONID, D("799.00"))
    wait_for(
        lambda: any(e["order_ref"] == orders[0].client_order_ref for e in simulator.executions())
    )
    assert not Fill.objects.exists()
    # when a new connection is made, its reconciliation records the missed fill once
    fresh = ibkr_connection()
    fresh.call(_noop)
    wait_for(lambda: statuses(orders)["entry"] == "filled")
    assert Fill.objects.get().price == D("799")
    assert net_position(goog_listing) == 10


def test_orders_unknown_to_the_broker_are_flagged(
    simulator: Any, ibkr_settings: Any, goog_listing: Symbol
) -> None:
    orders = live_bracket(goog_listing)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="submitted")
    connection = ibkr_connection()
    connection.call(_noop)
    wait_for(lambda: connection.reconciliations >= 1)
    flagged = Order.objects.filter(flagged_at__isnull=False)
    assert flagged.count() == 3
    assert set(flagged.values_list("status", flat=True)) == {"submitted"}
    assert "unknown to the broker" in flagged.first().error_message  # type: ignore[union-attr]


def test_client_id_in_use_moves_to_the_next_id(simulator: Any, ibkr_settings: Any) -> None:
    from ib_async import IB

    squatter = IB()
    squatter.connect(simulator.host, simulator.port, clientId=ibkr_settings.IBKR_CLIENT_ID)
    try:
        connection = ibkr_connection()
        connection.call(_noop)
        assert connection.client_id == ibkr_settings.IBKR_CLIENT_ID + 1
    finally:
        squatter.disconnect()


async def _noop(ib: Any) -> None:
    return None


def test_a_dropped_connection_reconnects_and_records_the_fill_it_missed(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    orders = live_bracket(goog_listing)
    submit(orders)
    # given TWS drops every client and the entry fills right then
    simulator.disconnect_all()
    simulator.set_price(GOOG_CONID, D("799.00"))
    # then Sibyl reconnects by itself and the fill is recorded once
    wait_for(lambda: connection.connects >= 2 and statuses(orders)["entry"] == "filled")
    assert Fill.objects.get().price == D("799")
    assert net_position(goog_listing) == 10
