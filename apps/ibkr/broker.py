"""The Interactive Brokers implementation of Sibyl's ``Broker`` (``apps.orders.brokers``).

Every order carries Sibyl's client order reference as ``orderRef``: lookups, polls and
reconciliation match by it, so an order whose submission outcome is unknown is found, never
sent again. Sources: TWS API bracket orders, ``reqAllOpenOrders``, ``reqExecutions``,
``cancelOrder`` as ib_async 2.1 exposes them.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from ib_async import IB, Contract, Position, Trade

from apps.ibkr.connection import IbkrConnection, IbkrConnectionError
from apps.ibkr.mapping import (
    IB_ORDER_TYPES,
    WORKING,
    contract_for,
    execution_of,
    has_commission,
    ib_order,
    modified_order,
    order_state,
)
from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerPosition,
    BrokerRejectedError,
    Execution,
    OrderSpec,
)
from apps.symbols.models import Symbol

logger = logging.getLogger(__name__)

# A fill whose commission report has not arrived after this long is recorded without it.
COMMISSION_GRACE_S = 30.0


async def wait_until(ib: IB, done: Callable[[], bool], timeout: float) -> bool:
    """Wait (on the connection's loop) until ``done()`` is true, re-checking on every order
    status, openOrder, error, execution or disconnect event; False on timeout."""
    changed = asyncio.Event()

    def wake(*_: object) -> None:
        changed.set()

    events = (
        ib.orderStatusEvent,
        ib.openOrderEvent,
        ib.errorEvent,
        ib.disconnectedEvent,
        ib.execDetailsEvent,
    )
    for event in events:
        event += wake
    try:
        async with asyncio.timeout(timeout):
            while not done():
                changed.clear()
                await changed.wait()
        return True
    except TimeoutError:
        return False
    finally:
        for event in events:
            event -= wake


def trades_by_ref(ib: IB, refs: set[str]) -> dict[str, Trade]:
    """The session's trades whose ``orderRef`` is in ``refs`` (latest wins)."""
    return {t.order.orderRef: t for t in ib.trades() if t.order.orderRef in refs}


def executions_for(ib: IB, refs: set[str]) -> list[Execution]:
    """The session's executions of ``refs`` that are ready to record (see ``has_commission``)."""
    now = datetime.now(UTC)
    return [
        execution_of(f)
        for f in ib.fills()
        if f.execution.orderRef in refs and has_commission(f, now=now, grace_s=COMMISSION_GRACE_S)
    ]


def oca_filled_sibling(ib: IB, trade: Trade) -> str:
    """The ``orderRef`` of a filled order in the same OCA group as ``trade`` (another order of
    the session), or "" when there is none: a cancelled order with one was cancelled by OCA
    because its sibling filled."""
    group = trade.order.ocaGroup
    if not group:
        return ""
    return next(
        (
            other.order.orderRef
            for other in ib.trades()
            if other is not trade
            and other.order.ocaGroup == group
            and other.order.orderRef
            and other.orderStatus.status == "Filled"
        ),
        "",
    )


def state_of(ib: IB, trade: Trade) -> BrokerOrderState:
    """``order_state`` of ``trade`` with its filled OCA sibling (``oca_filled_sibling``), so an
    OCA cancellation reads as the normal outcome (``OCA: <ref> filled``), not as error 202."""
    return order_state(trade, oca_filled_ref=oca_filled_sibling(ib, trade))


def managed_account_check(ib: IB, account: str) -> None:
    """Refuse, before anything is sent, an order for an account the gateway does not manage:
    with the connection up, ``account`` (the IBKR account id, ``DU…``/``U…``) must be one of
    ``IB.managedAccounts()`` (the accounts TWS/IB Gateway reported for this login). Raises
    BrokerRejectedError naming the id and the managed accounts. An empty ``account`` (TWS
    picks the login's account) or a login that reported none is not checked."""
    managed = list(ib.managedAccounts())
    if account and managed and account not in managed:
        raise BrokerRejectedError(
            f"IBKR account {account} is not managed by this gateway (it manages "
            f"{', '.join(managed)}); nothing was sent"
        )


async def refresh(ib: IB) -> None:
    """Load every client's open orders and today's executions into the session (both
    requests in flight at once)."""
    await asyncio.gather(ib.reqAllOpenOrdersAsync(), ib.reqExecutionsAsync())


class IbkrBroker:
    """Orders at IBKR through one process-wide ``IbkrConnection``.

    Submission refuses (BrokerRejectedError) when ``IBKR_READONLY`` is set; connection
    trouble raises IbkrConnectionError (a BrokerUnavailableError: retryable, after a lookup).
    """

    name = "ibkr"

    def __init__(self, connection: IbkrConnection, *, ack_timeout_s: float = 10.0) -> None:
        self.connection = connection
        self.ack_timeout_s = ack_timeout_s

    def lookup(self, refs: list[str]) -> dict[str, BrokerOrderState]:
        """States of the references IBKR holds: open orders of all clients, and orders with
        executions today (reported ``filled``-bound through their fills)."""
        wanted = set(refs)

        async def fetch(ib: IB) -> dict[str, BrokerOrderState]:
            await refresh(ib)
            found = {ref: state_of(ib, t) for ref, t in trades_by_ref(ib, wanted).items()}
            for fill in ib.fills():
                ref = fill.execution.orderRef
                if ref in wanted and ref not in found:
                    found[ref] = BrokerOrderState(ref, str(fill.execution.permId), "submitted")
            return found

        return self.connection.call(fetch)

    def submit_bracket(self, bracket: BracketSpec) -> list[BrokerOrderState]:
        """Place parent, take-profit and stop-loss (or a lone order) and wait until TWS has
        acknowledged each one. Raises BrokerRejectedError (error 201 and the like, unknown
        contract, read-only configuration) or IbkrConnectionError when the outcome is unknown
        (connection lost or no acknowledgement in time)."""
        if self.connection.config.readonly:
            raise BrokerRejectedError("IBKR_READONLY is set: this process does not place orders")
        contract = contract_for(Symbol.objects.get(pk=bracket.symbol_id))
        return self.connection.call(
            lambda ib: self._place(ib, contract, bracket),
            timeout=self.connection.config.connect_timeout_s + self.ack_timeout_s + 5,
        )

    async def _place(
        self, ib: IB, contract: Contract, bracket: BracketSpec
    ) -> list[BrokerOrderState]:
        account = bracket.account_key or self.connection.account
        managed_account_check(ib, account)
        qualified = await self._qualified(contract)
        ids = {spec.client_order_ref: ib.client.getReqId() for spec in bracket.orders}
        last = len(bracket.orders) - 1
        trades = [
            ib.placeOrder(
                qualified,
                ib_order(
                    spec,
                    order_id=ids[spec.client_order_ref],
                    parent_id=ids.get(spec.parent_ref, 0),
                    transmit=index == last,
                    account=account,
                ),
            )
            for index, spec in enumerate(bracket.orders)
        ]
        acknowledged = await wait_until(ib, lambda: _settled(ib, trades), self.ack_timeout_s)
        states = [state_of(ib, t) for t in trades]
        rejected = [s for s in states if s.status == "rejected"]
        if rejected:
            raise BrokerRejectedError(rejected[0].reason or "rejected by IBKR")
        if not acknowledged or not ib.isConnected():
            raise IbkrConnectionError(
                "no acknowledgement from TWS after placeOrder; the outcome is unknown and the "
                "orders will be looked up by orderRef before any resubmission"
            )
        return states

    async def _qualified(self, contract: Contract) -> Contract:
        qualified = await self.connection.qualified(contract)
        if qualified is None:
            raise BrokerRejectedError(f"IBKR has no unique contract for {contract.symbol}")
        return qualified

    def poll(self, refs: list[str]) -> tuple[list[BrokerOrderState], list[Execution]]:
        """Current states and today's executions of ``refs`` (after a reqExecutions)."""
        wanted = set(refs)

        async def fetch(ib: IB) -> tuple[list[BrokerOrderState], list[Execution]]:
            await ib.reqExecutionsAsync()
            states = [state_of(ib, t) for t in trades_by_ref(ib, wanted).values()]
            return states, executions_for(ib, wanted)

        return self.connection.call(fetch)

    def positions(self, account_key: str) -> list[BrokerPosition]:
        """The account's non-zero positions at IBKR (``reqPositions``: every account of the
        login), netted by nature (side ``NET``), mapped to Sibyl's symbols by conid. A position
        in a contract no Sibyl symbol has is logged and left out. Raises IbkrConnectionError
        when TWS cannot be reached."""

        async def fetch(ib: IB) -> list[Position]:
            return list(await ib.reqPositionsAsync())

        return ibkr_positions(self.connection.call(fetch), account_key)

    def describe(self) -> dict[str, str]:
        """The connected IBKR account and whether it is a paper (``DU…``) or live account."""
        account = self.connection.account
        kind = "paper" if self.connection.is_paper else "live"
        return {"account": account or "(not connected)", "account_kind": kind}

    def cancel(self, ref: str) -> BrokerOrderState:
        """Cancel a working order; waits for TWS to confirm. Raises BrokerRejectedError if
        IBKR holds no such order."""

        async def cancel(ib: IB) -> BrokerOrderState:
            trade = trades_by_ref(ib, {ref}).get(ref)
            if trade is None:
                await ib.reqAllOpenOrdersAsync()
                trade = trades_by_ref(ib, {ref}).get(ref)
            if trade is None:
                raise BrokerRejectedError(f"IBKR holds no order {ref}")
            if not trade.isDone():
                ib.cancelOrder(trade.order)
                await wait_until(ib, trade.isDone, self.ack_timeout_s)
            return state_of(ib, trade)

        return self.connection.call(cancel)

    def modify(
        self, spec: OrderSpec, *, version: int, market_time: datetime, account_key: str
    ) -> BrokerOrderState:
        """Modify a working order in place: placeOrder again with its orderId (ib_async
        ``placeOrder`` on the existing ``Trade``) and the new totalQuantity / lmtPrice /
        auxPrice, then wait up to ``ack_timeout_s`` for TWS's openOrder + orderStatus with the
        new values. ``version`` and ``market_time`` are Sibyl's (TWS applies a modification
        when it gets it); ``account_key`` is checked against the order's account.

        When TWS already holds these values (an earlier modification that reached it) nothing
        is sent. Raises BrokerRejectedError when IBKR holds no such working order, the order
        was placed by another clientId (TWS would take the orderId for a new order), side or
        order type differ, or TWS answers with an error (104 filled, 103, 105, 201 …; the
        order keeps its values); IbkrConnectionError when the outcome is unknown (connection
        lost, or no answer in time: ``lookup`` tells which values TWS holds).
        """
        if self.connection.config.readonly:
            raise BrokerRejectedError("IBKR_READONLY is set: this process does not modify orders")
        return self.connection.call(
            lambda ib: self._modify(ib, spec, account_key),
            timeout=self.connection.config.request_timeout_s + self.ack_timeout_s + 5,
        )

    async def _working_trade(self, ib: IB, ref: str) -> Trade:
        trade = trades_by_ref(ib, {ref}).get(ref)
        if trade is None or trade.isDone():
            await ib.reqAllOpenOrdersAsync()
            trade = trades_by_ref(ib, {ref}).get(ref)
        if trade is None:
            raise BrokerRejectedError(f"IBKR holds no working order {ref}")
        if trade.isDone():
            state = order_state(trade)
            word = "filled" if state.status == "filled" else state.status
            raise BrokerRejectedError(f"Can't modify a {word} order ({ref})")
        return trade

    async def _modify(self, ib: IB, spec: OrderSpec, account_key: str) -> BrokerOrderState:
        ref = spec.client_order_ref
        trade = await self._working_trade(ib, ref)
        order = trade.order
        if order.clientId != ib.client.clientId:
            raise BrokerRejectedError(
                f"order {ref} was placed by clientId {order.clientId}; this connection is "
                f"clientId {ib.client.clientId} and cannot modify it"
            )
        if account_key and order.account and order.account != account_key:
            raise BrokerRejectedError(f"order {ref} is an order of {order.account}")
        if (order.action, order.orderType) != (spec.side, IB_ORDER_TYPES[spec.order_type]):
            raise BrokerRejectedError(
                f"Order being modified does not match original order: {ref} is "
                f"{order.action} {order.orderType}"
            )
        if order_state(trade).holds(spec.quantity, spec.limit_price, spec.stop_price):
            return order_state(trade)
        mark = len(trade.log)
        ib.placeOrder(trade.contract, modified_order(trade, spec))

        def answered() -> bool:
            if not ib.isConnected() or _new_errors(trade, mark):
                return True
            state = order_state(trade)
            settled = trade.orderStatus.status not in ("PendingSubmit", "ApiPending")
            return settled and state.holds(spec.quantity, spec.limit_price, spec.stop_price)

        acknowledged = await wait_until(ib, answered, self.ack_timeout_s)
        errors = _new_errors(trade, mark)
        if errors:
            await ib.reqAllOpenOrdersAsync()  # TWS's own status again (ib_async marked it ended)
            raise BrokerRejectedError(errors[-1] or "modification refused by IBKR")
        if not acknowledged or not ib.isConnected():
            raise IbkrConnectionError(
                "no acknowledgement from TWS after the modification; the outcome is unknown and "
                "the values TWS holds will be looked up by orderRef before any resend"
            )
        return order_state(trade)


def _new_errors(trade: Trade, mark: int) -> list[str]:
    """The error messages TWS sent about the trade after log entry ``mark`` (informational
    codes 399 and 2100–2199 left out)."""
    return [
        entry.message
        for entry in trade.log[mark:]
        if entry.errorCode and entry.errorCode != 399 and not 2100 <= entry.errorCode < 2200
    ]


def _settled(ib: IB, trades: list[Trade]) -> bool:
    """Every order acknowledged (past PendingSubmit) or one of them ended, or the socket
    is gone."""
    if not ib.isConnected():
        return True
    if any(t.orderStatus.status not in WORKING for t in trades):
        return True
    return all(t.orderStatus.status != "PendingSubmit" for t in trades)


def ibkr_positions(held: list[Position], account_key: str) -> list[BrokerPosition]:
    """IBKR's positions of ``account_key`` among ``held`` as Sibyl's ``NET`` broker positions
    (signed quantity in shares/units, ``avgCost`` per unit in the contract's currency); zero
    positions and contracts without a Sibyl symbol (logged) are left out."""
    mine = [p for p in held if p.account == account_key and p.position]
    symbols = dict(
        Symbol.objects.filter(conid__in=[p.contract.conId for p in mine]).values_list("conid", "pk")
    )
    positions = []
    for held_position in mine:
        symbol_id = symbols.get(held_position.contract.conId)
        if symbol_id is None:
            logger.warning(
                "IBKR position of %s in conid %s (%s) matches no Sibyl symbol; not reconciled",
                account_key,
                held_position.contract.conId,
                held_position.contract.localSymbol or held_position.contract.symbol,
            )
            continue
        positions.append(
            BrokerPosition(
                symbol_id=symbol_id,
                side="NET",
                quantity=Decimal(str(held_position.position)),
                average_cost=Decimal(str(held_position.avgCost)),
            )
        )
    return positions
