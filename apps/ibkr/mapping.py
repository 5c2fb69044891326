"""Translation between Sibyl's broker values and ib_async's objects (no I/O).

Sources: TWS API order types and fields (``Order.orderType``, ``lmtPrice``, ``auxPrice``,
``tif``, ``ocaGroup``/``ocaType``, ``parentId``, ``transmit``, ``orderRef``) as ib_async 2.1
names them; order statuses as ib_async's ``OrderStatus`` lists them; TWS error codes from the
TWS API message-code table.
"""

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from ib_async import Contract, Fill, Trade
from ib_async import Order as IbOrder
from ib_async.util import UNSET_DOUBLE

from apps.orders.brokers import BrokerOrderState, Execution, OrderSpec
from apps.symbols.models import Symbol

# Sibyl order type -> TWS orderType.
IB_ORDER_TYPES = {"MKT": "MKT", "LMT": "LMT", "STP": "STP", "STPLMT": "STP LMT"}
# TWS order types that use lmtPrice, and those that use auxPrice (the stop).
LIMIT_TYPES = frozenset({"LMT", "STP LMT"})
STOP_TYPES = frozenset({"STP", "STP LMT"})
# TWS statuses of an order that is still (or about to be) working.
WORKING = frozenset({"PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel"})
ENDED = frozenset({"Cancelled", "ApiCancelled", "Inactive"})
# Errors that end an order without it being a rejection: 202 cancelled (by us, by OCA, at
# expiry), 10148/161 cancel of an order that already ended.
CANCEL_CODES = frozenset({202, 10148, 161})
# ocaType 1: cancel the other orders of the group when one fills (with block).
OCA_CANCEL_WITH_BLOCK = 1


def contract_for(symbol: Symbol) -> Contract:
    """The IB contract of a Sibyl symbol: by conid when cached, else by its listing.

    Forex (``CASH``) trades on IDEALPRO; other types on the symbol's exchange (``SMART``).
    """
    exchange = "IDEALPRO" if symbol.sec_type == "CASH" else symbol.exchange or "SMART"
    return Contract(
        conId=symbol.conid or 0,
        symbol=symbol.symbol,
        secType=symbol.sec_type,
        exchange=exchange,
        primaryExchange=symbol.primary_exchange,
        currency=symbol.currency,
    )


def _price(value: Decimal | None) -> float:
    return float(value) if value is not None else UNSET_DOUBLE


def ib_order(
    spec: OrderSpec, *, order_id: int, parent_id: int, transmit: bool, account: str
) -> IbOrder:
    """One order of a bracket as TWS takes it: ``orderRef`` is Sibyl's client order
    reference; children carry ``parentId`` and the OCA group; only the bracket's last order
    has ``transmit`` set, so TWS releases the three together (IBKR bracket-order docs).

    Raises ValueError for an order type TWS is not given by Sibyl.
    """
    if spec.order_type not in IB_ORDER_TYPES:
        raise ValueError(f"order type {spec.order_type!r} is not supported for IBKR")
    return IbOrder(
        orderId=order_id,
        action=spec.side,
        totalQuantity=float(spec.quantity),
        orderType=IB_ORDER_TYPES[spec.order_type],
        lmtPrice=_price(spec.limit_price),
        auxPrice=_price(spec.stop_price),
        tif=spec.time_in_force,
        orderRef=spec.client_order_ref,
        parentId=parent_id,
        ocaGroup=spec.oca_group,
        ocaType=OCA_CANCEL_WITH_BLOCK if spec.oca_group else 0,
        transmit=transmit,
        account=account,
    )


def oca_cancel_reason(filled_ref: str) -> str:
    """The reason of an order cancelled by OCA because ``filled_ref`` filled, worded as the
    paper broker words it (``apps.orders.paper_fills``)."""
    return f"OCA: {filled_ref} filled"


def _error_entries(trade: Trade) -> list[tuple[int, str]]:
    return [(entry.errorCode, entry.message) for entry in trade.log if entry.errorCode]


def _decimal_or_none(value: float | Decimal | None) -> Decimal | None:
    if value is None or value == UNSET_DOUBLE:
        return None
    return Decimal(str(value))


def modify_refused(trade: Trade) -> bool:
    """Whether TWS's last word on the trade is an error answering a modification ("Modify"
    in its log) and nothing since: the modification was refused, the order itself lives on
    with the values TWS had (ib_async marks the trade Cancelled on any order error, which for a
    refused modification is not what TWS did; the next orderStatus puts it right)."""
    log = trade.log
    if not log or not log[-1].errorCode or log[-1].errorCode in CANCEL_CODES:
        return False
    earlier = [entry for entry in log[:-1] if not entry.errorCode]
    return bool(earlier) and earlier[-1].message == "Modify"


def order_state(trade: Trade, *, oca_filled_ref: str = "") -> BrokerOrderState:
    """A trade's state in Sibyl's terms: ``submitted`` while working, ``filled``,
    ``cancelled`` (by us, by OCA, at expiry) or ``rejected`` (any other error code, or
    Inactive); the reason is the last error TWS sent. A refused modification leaves the order
    ``submitted`` (``modify_refused``). ``broker_order_id`` is the permId; ``quantity``,
    ``limit_price`` and ``stop_price`` are the values of TWS's last openOrder (totalQuantity,
    lmtPrice, auxPrice).

    ``oca_filled_ref``: the reference of a filled order of the same OCA group, if any. A
    cancelled order with one, and no error but 202 ("Order Canceled - reason:"), was cancelled
    because its sibling filled: its reason is ``OCA: <ref> filled``, the paper broker's wording
    of that normal outcome, not TWS's error text."""
    status = trade.orderStatus.status
    errors = _error_entries(trade)
    reason = errors[-1][1] if errors else ""
    if status == "Filled":
        mapped = "filled"
    elif modify_refused(trade):
        mapped = "submitted"
    elif status in ENDED:
        rejected = status == "Inactive" or any(code not in CANCEL_CODES for code, _ in errors)
        mapped = "rejected" if rejected else "cancelled"
        if mapped == "cancelled" and oca_filled_ref and all(code == 202 for code, _ in errors):
            reason = oca_cancel_reason(oca_filled_ref)
    else:
        mapped = "submitted"
    order = trade.order
    perm_id = order.permId or trade.orderStatus.permId
    return BrokerOrderState(
        order.orderRef,
        str(perm_id) if perm_id else "",
        mapped,
        reason,
        quantity=_decimal_or_none(order.totalQuantity),
        limit_price=_decimal_or_none(order.lmtPrice) if order.orderType in LIMIT_TYPES else None,
        stop_price=_decimal_or_none(order.auxPrice) if order.orderType in STOP_TYPES else None,
    )


def modified_order(trade: Trade, spec: OrderSpec) -> IbOrder:
    """A copy of the trade's order with ``spec``'s quantity, limit and stop, transmitted: what
    placeOrder is given to modify the order in place (same orderId, permId, parentId, OCA
    group). The trade's own order keeps TWS's values until TWS answers with openOrder."""
    return dataclasses.replace(
        trade.order,
        totalQuantity=float(spec.quantity),
        lmtPrice=_price(spec.limit_price),
        auxPrice=_price(spec.stop_price),
        transmit=True,
    )


def execution_of(fill: Fill) -> Execution:
    """One IB fill as a Sibyl execution: execId, orderRef, time (tz-aware UTC), shares,
    price and commission (0 until the commission report arrived)."""
    execution = fill.execution
    when = execution.time if execution.time.tzinfo else execution.time.replace(tzinfo=UTC)
    return Execution(
        execution_id=execution.execId,
        client_order_ref=execution.orderRef,
        executed_at=when.astimezone(UTC),
        quantity=Decimal(str(execution.shares)),
        price=Decimal(str(execution.price)),
        commission=Decimal(str(fill.commissionReport.commission or 0)),
    )


def has_commission(fill: Fill, *, now: datetime, grace_s: float) -> bool:
    """Whether a fill is complete enough to record: its commission report arrived, or it is
    older than ``grace_s`` seconds (a lost report must not hide the fill for ever)."""
    if fill.commissionReport.execId:
        return True
    return (now - fill.time).total_seconds() > grace_s
