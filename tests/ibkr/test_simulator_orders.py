"""Orders, fills and faults through the real ib_async ``IB`` client over loopback.

GOOG starts at 806.19 (last close of data/bars/GOOG_1d.csv); prices move only via
``simulator.set_price``. No database needed.
"""

import contextlib
import logging
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from ib_async import IB, Forex, LimitOrder, MarketOrder, Order, Stock, StopOrder, Trade

from devtools.tws_simulator import SimulatorHandle
from tests.ibkr.conftest import ConnectIb

GOOG_ID = 208813720
GOOG_START = 806.19


def wait_until(ib: IB, predicate: Callable[[], object], timeout: float = 3.0) -> None:
    """Let ib_async process messages until ``predicate()`` is truthy, or fail. ``ib.sleep``
    raises ConnectionError when the socket closes meanwhile; that is not a failure here."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        with contextlib.suppress(ConnectionError):
            ib.sleep(0.02)


def goog(ib: IB) -> Stock:
    contract = Stock("GOOG", "SMART", "USD")
    ib.qualifyContracts(contract)
    return contract


def status(trade: Trade) -> str:
    return trade.orderStatus.status


def error_codes(ib: IB) -> list[int]:
    """Start collecting the error codes ib_async reports (``errorEvent``)."""
    codes: list[int] = []
    ib.errorEvent += lambda req_id, code, message, contract: codes.append(code)
    return codes


def test_market_order_fills_with_execution_and_commission(
    ib: IB, simulator: SimulatorHandle
) -> None:
    trade = ib.placeOrder(goog(ib), MarketOrder("BUY", 300, orderRef="mkt-1"))
    wait_until(ib, lambda: trade.fills and trade.fills[0].commissionReport.execId)
    assert status(trade) == "Filled"
    [fill] = trade.fills
    assert (fill.execution.side, fill.execution.shares, fill.execution.price) == (
        "BOT",
        300,
        GOOG_START,
    )
    assert fill.execution.orderRef == "mkt-1"
    assert fill.execution.permId == trade.order.permId != 0
    assert fill.commissionReport.commission == pytest.approx(1.50)  # 300 × 0.005
    assert fill.commissionReport.currency == "USD"
    wait_until(ib, lambda: ib.positions())
    [position] = ib.positions()
    assert (position.contract.conId, position.position) == (GOOG_ID, 300)
    [order] = simulator.orders()
    assert (order.status, order.filled, order.order_ref) == ("Filled", 300, "mkt-1")
    [execution] = simulator.executions()
    assert execution.exec_id == fill.execution.execId
    assert execution.commission == Decimal("1.50")


def test_bracket_parent_fills_then_take_profit_and_oca_cancel(
    ib: IB, simulator: SimulatorHandle
) -> None:
    contract = goog(ib)
    parent = LimitOrder("BUY", 100, 800, orderRef="br:parent", transmit=False)
    parent_trade = ib.placeOrder(contract, parent)
    take_profit = LimitOrder("SELL", 100, 820, orderRef="br:tp", transmit=False)
    take_profit.parentId = parent.orderId
    take_profit.ocaGroup = "oca-br"
    stop = StopOrder("SELL", 100, 790, orderRef="br:sl", transmit=True)
    stop.parentId = parent.orderId
    stop.ocaGroup = "oca-br"
    tp_trade = ib.placeOrder(contract, take_profit)
    stop_trade = ib.placeOrder(contract, stop)

    wait_until(ib, lambda: status(stop_trade) == "PreSubmitted")
    assert (status(parent_trade), status(tp_trade)) == ("Submitted", "PreSubmitted")

    simulator.set_price(GOOG_ID, 799)
    wait_until(ib, lambda: status(stop_trade) == "Submitted")
    assert status(parent_trade) == "Filled"
    assert parent_trade.fills[0].execution.price == 799
    assert status(tp_trade) == "Submitted"

    simulator.set_price(GOOG_ID, 821)
    wait_until(ib, lambda: status(stop_trade) == "Cancelled" and tp_trade.fills)
    wait_until(ib, lambda: tp_trade.fills[0].commissionReport.execId)
    assert status(tp_trade) == "Filled"
    [fill] = tp_trade.fills
    assert (fill.execution.side, fill.execution.price) == ("SLD", 821)
    assert fill.commissionReport.realizedPNL == pytest.approx((821 - 799) * 100 - 1.00)
    wait_until(ib, lambda: not ib.positions())
    assert {o.order_ref: o.status for o in simulator.orders()} == {
        "br:parent": "Filled",
        "br:tp": "Filled",
        "br:sl": "Cancelled",
    }


def test_stop_and_stop_limit_trigger_on_price_moves(ib: IB, simulator: SimulatorHandle) -> None:
    contract = goog(ib)
    stop = ib.placeOrder(contract, StopOrder("SELL", 10, 800, orderRef="stp"))
    stop_limit = Order(
        action="BUY", totalQuantity=10, orderType="STP LMT", auxPrice=810, lmtPrice=811
    )
    stop_limit_trade = ib.placeOrder(contract, stop_limit)
    wait_until(ib, lambda: status(stop) == status(stop_limit_trade) == "Submitted")
    simulator.set_price(GOOG_ID, 801)
    ib.sleep(0.05)
    assert status(stop) == "Submitted"
    simulator.set_price(GOOG_ID, 799.5)
    wait_until(ib, lambda: status(stop) == "Filled")
    assert stop.fills[0].execution.price == 799.5
    simulator.set_price(GOOG_ID, 812)  # triggers the stop, but above the limit
    ib.sleep(0.05)
    assert status(stop_limit_trade) == "Submitted"
    simulator.set_price(GOOG_ID, 810.5)
    wait_until(ib, lambda: status(stop_limit_trade) == "Filled")
    assert stop_limit_trade.fills[0].execution.price == 810.5


def test_split_fill_gives_two_executions(ib: IB, simulator: SimulatorHandle) -> None:
    simulator.split_next_fill([40, 60])
    trade = ib.placeOrder(goog(ib), MarketOrder("BUY", 100, orderRef="split"))
    seen: list[tuple[str, float, float]] = []
    trade.statusEvent += lambda t: seen.append(
        (t.orderStatus.status, t.orderStatus.filled, t.orderStatus.remaining)
    )
    wait_until(ib, lambda: status(trade) == "Filled" and len(trade.fills) == 2)
    wait_until(ib, lambda: all(f.commissionReport.execId for f in trade.fills))
    assert [f.execution.shares for f in trade.fills] == [40, 60]
    assert [f.execution.cumQty for f in trade.fills] == [40, 100]
    assert ("Submitted", 40, 60) in seen
    assert seen[-1] == ("Filled", 100, 0)
    assert seen.index(("Submitted", 40, 60)) < len(seen) - 1
    # the minimum is charged once per order: 1.00 on the first part, 0 on the second
    assert [f.commissionReport.commission for f in trade.fills] == [1.0, 0.0]
    assert len({f.execution.execId for f in trade.fills}) == 2


def test_cancel_working_order_then_cancel_again(ib: IB, simulator: SimulatorHandle) -> None:
    codes = error_codes(ib)
    trade = ib.placeOrder(goog(ib), LimitOrder("BUY", 10, 700, orderRef="cxl"))
    wait_until(ib, lambda: status(trade) == "Submitted")
    ib.cancelOrder(trade.order)
    wait_until(ib, lambda: status(trade) == "Cancelled" and 202 in codes)
    assert [o.status for o in simulator.orders()] == ["Cancelled"]
    ib.cancelOrder(trade.order)
    wait_until(ib, lambda: 10148 in codes)


def test_rejected_order_ends_inactive_with_201_in_log(ib: IB, simulator: SimulatorHandle) -> None:
    simulator.reject_next_order(message="Order rejected - reason:Simulated margin check")
    trade = ib.placeOrder(goog(ib), LimitOrder("BUY", 10, 700, orderRef="rej"))
    wait_until(ib, lambda: status(trade) == "Inactive")
    assert trade.isDone()
    [entry] = [e for e in trade.log if e.errorCode == 201]
    assert "Simulated margin check" in entry.message
    assert [o.status for o in simulator.orders()] == ["Inactive"]
    assert simulator.executions() == []


def test_invalid_order_is_rejected_without_fault(ib: IB) -> None:
    contract = goog(ib)
    zero = ib.placeOrder(contract, MarketOrder("BUY", 0))
    no_price = ib.placeOrder(contract, Order(action="BUY", totalQuantity=5, orderType="LMT"))
    wait_until(ib, lambda: status(zero) == status(no_price) == "Inactive")
    assert any(e.errorCode == 201 and "quantity" in e.message for e in zero.log)
    assert any(e.errorCode == 201 and "limit price" in e.message for e in no_price.log)


def test_bracket_rejection_covers_held_children(ib: IB, simulator: SimulatorHandle) -> None:
    contract = goog(ib)
    simulator.reject_next_order()
    parent = LimitOrder("BUY", 100, 800, transmit=False)
    parent_trade = ib.placeOrder(contract, parent)
    child = StopOrder("SELL", 100, 790, transmit=True)
    child.parentId = parent.orderId
    child_trade = ib.placeOrder(contract, child)
    wait_until(ib, lambda: status(parent_trade) == status(child_trade) == "Inactive")
    assert {o.status for o in simulator.orders()} == {"Inactive"}


def test_dropped_connection_after_place_order_then_reconnect(
    connect_ib: ConnectIb, simulator: SimulatorHandle
) -> None:
    ib = connect_ib(7)
    contract = goog(ib)
    simulator.drop_after_next_place_order()
    trade = ib.placeOrder(contract, LimitOrder("BUY", 50, 700, orderRef="drop:lmt"))
    wait_until(ib, lambda: not ib.isConnected())
    assert status(trade) == "PendingSubmit"  # nothing about the order reached the client
    [order] = simulator.orders()
    assert (order.status, order.order_ref) == ("Submitted", "drop:lmt")

    ib2 = connect_ib(7)
    assert ib2.client.getReqId() > order.order_id  # nextValidId never goes backwards
    [open_trade] = ib2.reqAllOpenOrders()
    assert (open_trade.order.orderRef, open_trade.order.permId) == ("drop:lmt", order.perm_id)
    assert status(open_trade) == "Submitted"
    assert simulator.place_count("drop:lmt") == 1

    simulator.drop_after_next_place_order()
    ib2.placeOrder(contract, MarketOrder("SELL", 20, orderRef="drop:mkt"))
    wait_until(ib2, lambda: not ib2.isConnected())
    ib3 = connect_ib(7)
    fills = [f for f in ib3.reqExecutions() if f.execution.orderRef == "drop:mkt"]
    assert [(f.execution.side, f.execution.shares) for f in fills] == [("SLD", 20)]
    # ib_async quirk: a repeated reqExecutions returns new Fill objects whose commission
    # report stays empty; the report went to the session's fill from the startup sync
    [synced] = [f for f in ib3.fills() if f.execution.orderRef == "drop:mkt"]
    assert synced.commissionReport.commission == pytest.approx(1.0)
    assert simulator.place_count("drop:mkt") == 1


def test_fill_while_disconnected_is_returned_by_req_executions(
    connect_ib: ConnectIb, simulator: SimulatorHandle
) -> None:
    ib = connect_ib(7)
    trade = ib.placeOrder(goog(ib), LimitOrder("BUY", 100, 800, orderRef="offline"))
    wait_until(ib, lambda: status(trade) == "Submitted")
    ib.disconnect()
    deadline = time.monotonic() + 3
    while simulator.connections() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert simulator.connections() == 0
    simulator.set_price(GOOG_ID, 799)

    ib2 = connect_ib(7)
    assert ib2.openTrades() == []
    [fill] = ib2.fills()  # from the reqExecutions of the connect sync
    assert [f.execution.execId for f in ib2.reqExecutions()] == [fill.execution.execId]
    assert (fill.execution.orderRef, fill.execution.shares, fill.execution.price) == (
        "offline",
        100,
        799,
    )
    assert fill.commissionReport.commission == pytest.approx(1.0)
    assert [(p.contract.conId, p.position) for p in ib2.positions()] == [(GOOG_ID, 100)]


def test_disconnect_all_closes_every_client(
    connect_ib: ConnectIb, simulator: SimulatorHandle
) -> None:
    first, second = connect_ib(7), connect_ib(8)
    assert simulator.connections() == 2
    simulator.disconnect_all()
    wait_until(first, lambda: not first.isConnected() and not second.isConnected())
    assert simulator.connections() == 0


def test_lost_order_status_is_recovered_by_open_orders(ib: IB, simulator: SimulatorHandle) -> None:
    simulator.lose_next(3)  # the orderStatus after the openOrder
    trade = ib.placeOrder(goog(ib), LimitOrder("BUY", 10, 700, orderRef="lost"))
    wait_until(ib, lambda: trade.order.permId)  # the openOrder arrived
    ib.sleep(0.05)
    assert status(trade) == "PendingSubmit"
    [open_trade] = ib.reqOpenOrders()
    assert open_trade is trade
    assert status(trade) == "Submitted"


def test_pacing_violation_gives_error_162_then_data(
    ib: IB, simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.pacing_violation_next()
    contract = Stock("GOOG", "SMART", "USD")
    args = (contract, "20130301 00:00:00 UTC", "4 D", "1 day", "TRADES", True)
    assert list(ib.reqHistoricalData(*args)) == []
    assert any(
        "Error 162" in r.getMessage() and "pacing violation" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR
    )
    assert len(ib.reqHistoricalData(*args)) == 4


def test_client_id_collision_is_refused(
    ib: IB, simulator: SimulatorHandle, caplog: pytest.LogCaptureFixture
) -> None:
    """TWS answers error 326 and closes the socket; ib_async logs it and its connect times
    out (TimeoutError) because the API never becomes ready."""
    second = IB()
    with pytest.raises(TimeoutError):
        second.connect(simulator.host, simulator.port, clientId=7, timeout=0.5)
    assert not second.isConnected()
    assert any("Error 326" in r.getMessage() for r in caplog.records)
    assert ib.isConnected()
    wait_until(ib, lambda: simulator.connections() == 1)


def test_cash_commission_and_other_clients_orders(
    connect_ib: ConnectIb, simulator: SimulatorHandle
) -> None:
    ib, other = connect_ib(7), connect_ib(8)
    eur = Forex("EURUSD")
    other.qualifyContracts(eur)
    trade = other.placeOrder(eur, MarketOrder("BUY", 20000, orderRef="fx"))
    resting = other.placeOrder(eur, LimitOrder("SELL", 20000, 1.5, orderRef="fx:tp"))
    wait_until(other, lambda: trade.fills and trade.fills[0].commissionReport.execId)
    assert trade.fills[0].execution.price == pytest.approx(1.22904)
    assert trade.fills[0].commissionReport.commission == pytest.approx(2.0)  # minimum
    wait_until(other, lambda: status(resting) == "Submitted")
    assert ib.openTrades() == []  # live order messages go to the order's clientId only
    assert [t.order.orderRef for t in ib.reqAllOpenOrders()] == ["fx:tp"]
    [snapshot] = [o for o in simulator.orders() if o.order_ref == "fx:tp"]
    assert snapshot["client_id"] == snapshot.client_id == 8
    assert simulator.executions()[0]["commission"] == Decimal("2.00")


def test_modify_price_of_working_order(ib: IB, simulator: SimulatorHandle) -> None:
    contract = goog(ib)
    order = LimitOrder("BUY", 10, 700, orderRef="mod")
    trade = ib.placeOrder(contract, order)
    wait_until(ib, lambda: status(trade) == "Submitted")
    order.lmtPrice = 810
    ib.placeOrder(contract, order)
    wait_until(ib, lambda: status(trade) == "Filled")
    assert trade.fills[0].execution.price == GOOG_START
    assert simulator.place_count("mod") == 2


def test_modify_of_a_working_stop_keeps_its_ids_and_is_acknowledged(
    ib: IB, simulator: SimulatorHandle
) -> None:
    # given a working SELL stop of 100 at 780
    contract = goog(ib)
    trade = ib.placeOrder(contract, StopOrder("SELL", 100, 780, orderRef="stop"))
    wait_until(ib, lambda: status(trade) == "Submitted")
    [before] = simulator.orders()

    # when the same orderId is placed again with 150 at 785
    trade.order.totalQuantity, trade.order.auxPrice = 150, 785
    ib.placeOrder(contract, trade.order)

    # then TWS answers openOrder + orderStatus for the same order with the new quantity
    wait_until(ib, lambda: trade.orderStatus.remaining == 150)
    assert [entry.message for entry in trade.log][-2:] == ["Modify", ""]
    [after] = simulator.orders()
    assert (after.order_id, after.perm_id) == (before.order_id, before.perm_id)
    assert (after.quantity, after.aux_price) == (Decimal(150), Decimal(785))
    assert after.modifications == ((Decimal(150), None, Decimal(785)),)
    assert simulator.place_count("stop") == 2


def test_modify_of_a_filled_order_or_of_its_side_is_refused_as_tws_does(
    ib: IB, simulator: SimulatorHandle
) -> None:
    contract = goog(ib)
    codes = error_codes(ib)
    working = ib.placeOrder(contract, LimitOrder("BUY", 10, 700, orderRef="side"))
    wait_until(ib, lambda: status(working) == "Submitted")
    changed = Order(**{**working.order.__dict__, "action": "SELL"})
    ib.placeOrder(contract, changed)
    wait_until(ib, lambda: 105 in codes)
    filled = ib.placeOrder(contract, MarketOrder("BUY", 10, orderRef="done"))
    wait_until(ib, lambda: status(filled) == "Filled")
    again = Order(**{**filled.order.__dict__, "totalQuantity": 20})
    ib.client.placeOrder(again.orderId, contract, again)  # ib_async itself refuses a done trade
    wait_until(ib, lambda: 104 in codes)
    orders = {o.order_ref: o for o in simulator.orders()}
    assert (orders["side"].action, orders["side"].status) == ("BUY", "Submitted")
    assert (orders["done"].quantity, orders["done"].status) == (Decimal(10), "Filled")
    assert orders["side"].modifications == orders["done"].modifications == ()


def test_delayed_order_status_arrives_late(ib: IB, simulator: SimulatorHandle) -> None:
    simulator.delay_next(3, 0.3)
    trade = ib.placeOrder(goog(ib), LimitOrder("BUY", 10, 700, orderRef="late"))
    wait_until(ib, lambda: trade.order.permId)  # openOrder came at once
    assert status(trade) == "PendingSubmit"
    wait_until(ib, lambda: status(trade) == "Submitted")


def test_a_manual_trade_changes_positions_of_its_account_only(
    ib: IB, simulator: SimulatorHandle
) -> None:
    # given a position of 100 from an API order of account DU123456
    trade = ib.placeOrder(goog(ib), MarketOrder("BUY", 100, account="DU123456"))
    wait_until(ib, lambda: status(trade) == "Filled")
    wait_until(ib, lambda: ib.positions("DU123456"))

    # when 30 are sold by hand in TWS, and another account of the login buys 5 by hand
    simulator.manual_trade(GOOG_ID, "SELL", 30, "806.19")
    simulator.manual_trade(GOOG_ID, "BUY", 5, 800, account="DU7654321")

    # then the subscribed client sees each account's own position, and reqPositions agrees
    wait_until(ib, lambda: [p.position for p in ib.positions("DU123456")] == [70])
    wait_until(ib, lambda: [p.position for p in ib.positions("DU7654321")] == [5])
    held = {(p.account, p.contract.conId, p.position) for p in ib.reqPositions()}
    assert held == {("DU123456", GOOG_ID, 70), ("DU7654321", GOOG_ID, 5)}
    assert simulator.positions("DU123456") == {GOOG_ID: Decimal(70)}
    assert simulator.positions() == {GOOG_ID: Decimal(75)}
    # the hand-made executions carry no orderRef and no API client (clientId 0)
    manual = [e for e in simulator.executions() if e.client_id == 0]
    assert [(e.side, e.shares, e.order_ref) for e in manual] == [
        ("SLD", Decimal(30), ""),
        ("BOT", Decimal(5), ""),
    ]
