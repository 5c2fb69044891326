"""Modifying working orders at IBKR through the real ib_async client and the loopback TWS
simulator: placeOrder again on the same orderId, acknowledged by openOrder/orderStatus; a modify
whose connection dropped is read back after the reconnect, never sent twice; TWS's refusal of
a modify of a filled order leaves the order as it was."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.gateway import ibkr_broker
from apps.lineage.models import Step
from apps.orders.brokers import BrokerRejectedError, BrokerUnavailableError
from apps.orders.models import ModificationStatus, Order, OrderModification
from apps.orders.modification import order_modify
from apps.orders.services import bracket_submit, orders_sync
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory
from tests.ibkr.adapter.helpers import AS_OF, GOOG_CONID, live_bracket, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
NOW = datetime(2013, 3, 4, 15, tzinfo=UTC)
# TWS message ids: openOrder, orderStatus, execDetails, commissionReport.
OPEN_ORDER, ORDER_STATUS, EXEC_DETAILS, COMMISSION_REPORT = 5, 3, 11, 59


@pytest.fixture
def goog_listing(db: None) -> Symbol:
    return SymbolFactory.create(
        symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ", min_tick=D("0.01")
    )


def by_role(orders: list[Order]) -> dict[str, Order]:
    return {o.role: o for o in Order.objects.filter(pk__in=[o.pk for o in orders])}


def sim_order(simulator: Any, ref: str) -> Any:
    [found] = [o for o in simulator.orders() if o.order_ref == ref]
    return found


def filled_bracket(simulator: Any, symbol: Symbol) -> list[Order]:
    """BUY 100 GOOG at limit 800 (stop 780, target 820), sent and filled at 799.50: the stop
    and the target are working at TWS."""
    orders = live_bracket(symbol, quantity="100")
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)
    simulator.set_price(GOOG_CONID, D("799.50"))
    wait_for(lambda: by_role(orders)["entry"].status == "filled")
    wait_for(lambda: sim_order(simulator, orders[2].client_order_ref).status == "Submitted")
    return orders


def test_modifying_a_working_stop_replaces_it_in_place_at_tws(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given a working stop-loss SELL 100 at 780 after the entry filled
    orders = filled_bracket(simulator, goog_listing)
    stop = by_role(orders)["stop_loss"]
    before = sim_order(simulator, stop.client_order_ref)

    # when Sibyl modifies it to 150 with the stop at 785
    modification = order_modify(order=stop, quantity=D(150), stop_price=D(785), market_time=NOW)

    # then TWS holds the same orderId and permId with the new values: a modify, not a new order
    after = sim_order(simulator, stop.client_order_ref)
    assert (after.order_id, after.perm_id) == (before.order_id, before.perm_id)
    assert (after.quantity, after.aux_price, after.status) == (D(150), D(785), "Submitted")
    assert after.modifications == ((D(150), None, D(785)),)
    assert simulator.place_count(stop.client_order_ref) == 2
    assert len([o for o in simulator.orders() if o.order_ref == stop.client_order_ref]) == 1
    # and Sibyl recorded version 1 acknowledged, the order holding the new values
    assert (modification.version, modification.status) == (1, ModificationStatus.ACKNOWLEDGED)
    stop.refresh_from_db()
    assert (stop.version, stop.quantity, stop.stop_price, stop.status) == (
        1,
        D(150),
        D(785),
        "submitted",
    )
    # and a lookup reports the values TWS holds
    held = ibkr_broker().lookup([stop.client_order_ref])[stop.client_order_ref]
    assert held.holds(D(150), None, D(785))
    # and the modified stop works at TWS: it fills all 150 when the price falls through 785
    simulator.set_price(GOOG_CONID, D("784"))
    wait_for(lambda: by_role(orders)["stop_loss"].status == "filled")
    assert by_role(orders)["stop_loss"].filled_quantity == D(150)


def test_a_modify_lost_in_transit_is_read_back_after_reconnect_not_sent_twice(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given the connection drops right after the modify is sent (TWS applies it)
    orders = filled_bracket(simulator, goog_listing)
    stop = by_role(orders)["stop_loss"]
    simulator.drop_after_next_place_order()
    with pytest.raises(BrokerUnavailableError, match=r"outcome is unknown|no answer"):
        order_modify(order=stop, quantity=D(150), market_time=NOW)
    pending = OrderModification.objects.get(order=stop)
    assert pending.status == ModificationStatus.REQUESTED
    assert sim_order(simulator, stop.client_order_ref).quantity == D(150)

    # when Sibyl has reconnected (its reconciliation reads every open order's values)
    wait_for(lambda: connection.connects >= 2 and connection.reconciliations >= 2)

    # then TWS's version was read back: acknowledged, nothing sent a second time
    pending.refresh_from_db()
    assert pending.status == ModificationStatus.ACKNOWLEDGED
    step = Step.objects.filter(run=stop.run, name="modification").order_by("-sequence").first()
    assert step is not None and step.output["how"] == "read back from the broker"
    # and asking for the same values again returns it without sending anything
    again = order_modify(order=stop, quantity=D(150), market_time=NOW)
    assert again.pk == pending.pk
    assert simulator.place_count(stop.client_order_ref) == 2
    assert len(sim_order(simulator, stop.client_order_ref).modifications) == 1
    stop.refresh_from_db()
    assert (stop.quantity, stop.version) == (D(150), 1)


def test_a_modify_of_an_order_tws_has_filled_is_rejected_and_changes_nothing(
    simulator: Any, connection: IbkrConnection, goog_listing: Symbol
) -> None:
    # given the entry fills at TWS but every message about its fill is lost on the way
    orders = live_bracket(goog_listing, quantity="100")
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)
    entry = by_role(orders)["entry"]
    for msg_id in (EXEC_DETAILS, OPEN_ORDER, ORDER_STATUS, COMMISSION_REPORT):
        simulator.lose_next(msg_id)
    simulator.set_price(GOOG_CONID, D("799.50"))
    wait_for(lambda: sim_order(simulator, entry.client_order_ref).status == "Filled")
    assert by_role(orders)["entry"].status == "submitted"

    # when Sibyl, unaware, modifies its limit
    with pytest.raises(BrokerRejectedError, match=r"Error 104.*Can't modify a filled order"):
        order_modify(order=entry, limit_price=D("801"), market_time=NOW)

    # then the modification is rejected with TWS's reason and the order keeps its values
    modification = OrderModification.objects.get(order=entry)
    assert modification.status == ModificationStatus.REJECTED
    assert "Can't modify a filled order" in modification.error_message
    entry.refresh_from_db()
    assert (entry.limit_price, entry.quantity, entry.version) == (D(800), D(100), 0)
    assert entry.status != "rejected"  # the refused modify did not end the order in Sibyl
    # and the fill TWS made is recorded by the next poll, as any lost fill is
    orders_sync(orders=orders, broker=ibkr_broker())
    entry.refresh_from_db()
    assert (entry.status, entry.filled_quantity) == ("filled", D(100))
    assert sim_order(simulator, entry.client_order_ref).modifications == ()
