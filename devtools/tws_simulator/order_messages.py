"""Field layouts of the order-related messages at server version 157.

Each builder names the ib_async function whose parsing it follows (ib_async 2.1,
``decoder.py`` for server -> client, ``client.py`` for client -> server). Numbers that the
client parses with ``int()`` are sent as ints, booleans as ``0``/``1``; an empty field makes the
decoder keep the dataclass default (``Decoder.parse``).
"""

from decimal import Decimal, InvalidOperation

from devtools.tws_simulator.instruments import ContractRef, Instrument
from devtools.tws_simulator.orders import (
    HELD,
    PRE_SUBMITTED,
    PlaceRequest,
    SimExecution,
    SimOrder,
    SimPosition,
)
from devtools.tws_simulator.protocol import Field

UNSET_DOUBLE = "1.7976931348623157e308"  # TWS's "no value" for doubles


def _decimal_or_none(text: str) -> Decimal | None:
    text = text.strip()
    if not text or text == "Infinite":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"not a number: {text!r}") from error
    return None if value >= Decimal(UNSET_DOUBLE) else value


def parse_place_order(fields: list[str]) -> PlaceRequest:
    """placeOrder (msg 3, no version field) per ``client.placeOrder``: ``orderId,
    contract×12, secIdType, secId, action, totalQuantity, orderType, lmtPrice, auxPrice, tif,
    ocaGroup, account, openClose, origin, orderRef, transmit, parentId, …`` (the rest is
    ignored). Unset prices become ``None``. Raises ``ValueError``/``IndexError`` if malformed."""
    contract = ContractRef.from_fields(fields, 2)
    quantity = _decimal_or_none(fields[17])
    return PlaceRequest(
        order_id=int(fields[1]),
        con_id=contract.con_id,
        symbol=contract.symbol,
        sec_type=contract.sec_type,
        exchange=contract.exchange,
        currency=contract.currency,
        local_symbol=contract.local_symbol,
        action=fields[16].upper(),
        quantity=quantity if quantity is not None else Decimal(0),
        order_type=fields[18].upper(),
        lmt_price=_decimal_or_none(fields[19]),
        aux_price=_decimal_or_none(fields[20]),
        tif=fields[21],
        oca_group=fields[22],
        account=fields[23],
        open_close=fields[24],
        origin=int(fields[25] or 0),
        order_ref=fields[26],
        transmit=fields[27] not in ("0", "False", ""),
        parent_id=int(fields[28] or 0),
    )


def contract_fields(instrument: Instrument, exchange: str) -> list[Field]:
    """The 11 contract fields of openOrder/execDetails/position: conId, symbol, secType,
    lastTradeDateOrContractMonth, strike, right, multiplier, exchange, currency, localSymbol,
    tradingClass."""
    i = instrument
    return [
        i.con_id,
        i.symbol,
        i.sec_type,
        "",
        0,
        "",
        "",
        exchange,
        i.currency,
        i.local_symbol,
        i.trading_class,
    ]


def _price(value: Decimal | None) -> Field:
    return value if value is not None else ""


def wire_status(order: SimOrder) -> str:
    """The TWS status of an order (a held order is reported as PreSubmitted)."""
    return PRE_SUBMITTED if order.status == HELD else order.status


def open_order_fields(order: SimOrder) -> list[Field]:
    """openOrder (msg 5, no version field) laid out for ``decoder.openOrder`` at server
    version 157: faProfile present (< 177), no duration/postToAts/autoCancelParent/minTradeQty
    blocks (>= 159/160/162/170). 120 fields; counts (combo legs, params, conditions) are 0,
    deltaNeutralOrderType/hedgeType/algoStrategy empty so no optional blocks follow."""
    o = order
    fields: list[Field] = [5, o.order_id, *contract_fields(o.instrument, o.exchange)]
    fields += [o.action, o.quantity, o.order_type, _price(o.lmt_price), _price(o.aux_price)]
    fields += [o.tif, o.oca_group, o.account, o.open_close, o.origin, o.order_ref]
    fields += [o.client_id, o.perm_id]
    # outsideRth, hidden, discretionaryAmt, goodAfterTime, sharesAllocation (skipped),
    # faGroup, faMethod, faPercentage, faProfile (server version < 177)
    fields += [0, 0, 0, "", "", "", "", "", ""]
    # modelCode, goodTillDate, rule80A, percentOffset, settlingFirm, shortSaleSlot,
    # designatedLocation, exemptCode, auctionStrategy, startingPrice, stockRefPrice, delta,
    # stockRangeLower, stockRangeUpper, displaySize, blockOrder, sweepToFill, allOrNone,
    # minQty, ocaType, eTradeOnly, firmQuoteOnly, nbboPriceCap
    fields += ["", "", "", "", "", 0, "", -1, 0, "", "", "", "", "", "", 0, 0, 0, "", 0, 0, 0, ""]
    # parentId, triggerMethod, volatility, volatilityType, deltaNeutralOrderType (empty: no
    # delta-neutral block), deltaNeutralAuxPrice
    fields += [o.parent_id, 0, "", 0, "", ""]
    # continuousUpdate, referencePriceType, trailStopPrice, trailingPercent, basisPoints,
    # basisPointsType, comboLegsDescrip, #comboLegs, #orderComboLegs, #smartComboRoutingParams
    fields += [0, 0, "", "", "", "", "", 0, 0, 0]
    # scaleInitLevelSize, scaleSubsLevelSize, scalePriceIncrement (empty: no scale block),
    # hedgeType (empty: no hedgeParam), optOutSmartRouting, clearingAccount, clearingIntent,
    # notHeld, deltaNeutralContract present, algoStrategy (empty: no params)
    fields += ["", "", "", "", 0, "", "IB", 0, 0, ""]
    # solicited, whatIf, status, 9 margin fields, commission, minCommission, maxCommission,
    # commissionCurrency, warningText, randomizeSize, randomizePrice
    fields += [0, 0, wire_status(o), *[""] * 9, "", "", "", "", "", 0, 0]
    # #conditions, adjustedOrderType, triggerPrice, trailStopPrice, lmtPriceOffset,
    # adjustedStopPrice, adjustedStopLimitPrice, adjustedTrailingAmount,
    # adjustableTrailingUnit, softDollarTier name/value/displayName, cashQty,
    # dontUseAutoPriceForHedge, isOmsContainer, discretionaryUpToLimitPrice, usePriceMgmtAlgo
    fields += [0, "", "", "", "", "", "", "", 0, "", "", "", "", 0, 0, 0, 0]
    return fields


def order_status_fields(order: SimOrder) -> list[Field]:
    """orderStatus (msg 3, no version field at >= 131) per ``Decoder`` handler 3
    (``wrap("orderStatus", …, skip=1)``): orderId, status, filled, remaining, avgFillPrice,
    permId, parentId, lastFillPrice, clientId, whyHeld, mktCapPrice."""
    o = order
    return [
        3,
        o.order_id,
        wire_status(o),
        o.filled,
        o.remaining,
        o.avg_fill_price,
        o.perm_id,
        o.parent_id,
        o.last_fill_price,
        o.client_id,
        "",
        0,
    ]


def exec_details_fields(req_id: int, execution: SimExecution) -> list[Field]:
    """execDetails (msg 11, no version field at >= 136) per ``decoder.execDetails``: reqId
    (-1 for live fills), orderId, 11 contract fields, execId, time (``yyyymmdd hh:mm:ss UTC``,
    read by ``util.parseIBDatetime``), account, exchange, side BOT/SLD, shares, price, permId,
    clientId, liquidation, cumQty, avgPrice, orderRef, evRule, evMultiplier, modelCode,
    lastLiquidity (no pendingPriceRevision below 178)."""
    e = execution
    return [
        11,
        req_id,
        e.order_id,
        *contract_fields(e.instrument, e.exchange),
        e.exec_id,
        e.time.strftime("%Y%m%d %H:%M:%S UTC"),
        e.account,
        e.exchange,
        e.side,
        e.shares,
        e.price,
        e.perm_id,
        e.client_id,
        0,
        e.cum_qty,
        e.avg_price,
        e.order_ref,
        "",
        "",
        "",
        2,
    ]


def commission_report_fields(execution: SimExecution) -> list[Field]:
    """commissionReport (msg 59, version 1) per ``decoder.commissionReport``, exactly 8
    fields: execId, commission, currency, realizedPNL (unset double for opening fills),
    yield (unset), yieldRedemptionDate."""
    e = execution
    realized: Field = e.realized_pnl if e.realized_pnl is not None else UNSET_DOUBLE
    return [59, 1, e.exec_id, e.commission, e.instrument.currency, realized, UNSET_DOUBLE, ""]


def position_fields(account: str, position: SimPosition) -> list[Field]:
    """position (msg 61, version 3) per ``decoder.position``, exactly 16 fields: account,
    11 contract fields, position (shares/units, signed), avgCost (instrument currency)."""
    p = position
    exchange = p.instrument.primary_exchange
    return [61, 3, account, *contract_fields(p.instrument, exchange), p.quantity, p.avg_cost]


def error_fields(req_id: int, code: int, message: str) -> list[Field]:
    """error (msg 4, version 2) per ``decoder.errorMsg``: reqId, code, message — no
    advancedOrderRejectJson below server version 166."""
    return [4, 2, req_id, code, message]
