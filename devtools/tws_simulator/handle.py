"""``SimulatorHandle``: drive and inspect a running ``TwsSimulator`` from another thread.

``running_simulator()`` yields one. Every method is synchronous and thread-safe: it runs its
work on the simulator's event loop (``asyncio.run_coroutine_threadsafe``) and waits up to 10 s
for the result, re-raising any exception raised there. Prices are in the instrument's currency,
quantities in shares/units; they accept ``Decimal``, ``int``, ``float`` or ``str``.
"""

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from devtools.tws_simulator.orders import ACCOUNT, REJECTED_PREFIX

if TYPE_CHECKING:
    from devtools.tws_simulator.server import TwsSimulator

T = TypeVar("T")
Number = Decimal | int | float | str
CALL_TIMEOUT = 10.0


def _decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class _Record:
    """Dict-style read access for the snapshot dataclasses: ``snap["status"]``,
    ``snap.get("status")``, ``snap.keys()``, ``dict(snap.items())`` besides ``snap.status``."""

    def keys(self) -> list[str]:
        """The field names, in declaration order."""
        return [f.name for f in fields(self)]  # type: ignore[arg-type]

    def __getitem__(self, key: str) -> Any:
        if key not in self.keys():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value, or ``default`` for an unknown name."""
        return getattr(self, key) if key in self.keys() else default

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs of all fields."""
        return [(key, getattr(self, key)) for key in self.keys()]


@dataclass(frozen=True)
class OrderSnapshot(_Record):
    """One order as the simulator holds it. ``status`` is a TWS status (PreSubmitted,
    Submitted, Filled, Cancelled, Inactive) or ``Held`` for a transmit=0 order not yet
    released; ``lmt_price``/``aux_price`` are ``None`` when unset. ``modifications`` are the
    (quantity, lmt_price, aux_price) each placeOrder that modified this working orderId in
    place set, oldest first (empty: never modified)."""

    order_id: int
    perm_id: int
    client_id: int
    con_id: int
    order_ref: str
    parent_id: int
    oca_group: str
    action: str
    order_type: str
    quantity: Decimal
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    status: str
    filled: Decimal
    avg_fill_price: Decimal
    modifications: tuple[tuple[Decimal, Decimal | None, Decimal | None], ...] = ()


@dataclass(frozen=True)
class ExecutionSnapshot(_Record):
    """One execution: ``side`` BOT/SLD, ``time`` aware UTC, ``commission`` in ``currency``,
    ``realized_pnl`` ``None`` for a fill that opened (or added to) a position."""

    exec_id: str
    order_id: int
    perm_id: int
    client_id: int
    con_id: int
    order_ref: str
    side: str
    shares: Decimal
    price: Decimal
    time: datetime
    cum_qty: Decimal
    avg_price: Decimal
    commission: Decimal
    currency: str
    realized_pnl: Decimal | None


class SimulatorHandle:
    """Control and inspection of a simulator running in ``thread`` on ``loop``."""

    def __init__(
        self, simulator: "TwsSimulator", loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self._simulator = simulator
        self._loop = loop
        self._thread = thread

    @property
    def host(self) -> str:
        """The bound host (e.g. ``127.0.0.1``)."""
        return self._simulator.host

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._simulator.port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, e.g. for ``socket.create_connection``."""
        return (self.host, self.port)

    def _call(self, function: Callable[[], T]) -> T:
        if threading.current_thread() is self._thread:
            return function()

        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=CALL_TIMEOUT)

    # --- market and execution model -------------------------------------------------------

    def set_price(self, con_id: int, price: Number) -> None:
        """Set the market price of ``con_id`` and evaluate working orders; resulting messages
        go out before this returns (queued on the sockets). Raises ``KeyError`` for an
        unknown conId, ``ValueError`` for a price <= 0."""
        value = _decimal(price)
        self._call(lambda: self._simulator.set_price(con_id, value))

    def price(self, con_id: int) -> Decimal:
        """The current market price of ``con_id``. Raises ``KeyError`` if it has none."""
        return self._call(lambda: self._simulator.book.prices[con_id])

    def split_next_fill(self, parts: list[Number]) -> None:
        """The next order that fills does so as executions of ``parts`` (e.g. ``[40, 60]``),
        each with its own execDetails + commissionReport + orderStatus (``Submitted`` with
        filled/remaining after a partial one, ``Filled`` at the end). The first part executes
        immediately, each further one about 5 ms later (timer on the simulator loop), provided
        the order is still marketable then. Raises ``ValueError`` for empty/non-positive parts."""
        values = [_decimal(p) for p in parts]
        self._call(lambda: self._simulator.book.arm_split(values))

    def reject_next_order(
        self, code: int = 201, message: str = REJECTED_PREFIX + "Simulated rejection"
    ) -> None:
        """Reject the next transmitted order (with its held bracket children): error
        ``code``/``message`` per order id, then openOrder + orderStatus ``Inactive``. In
        ib_async the error marks the trade Cancelled and logs it (``TradeLogEntry`` with
        ``errorCode=code``), the status message then makes it ``Inactive``."""
        self._call(lambda: self._simulator.book.arm_reject(code, message))

    def manual_trade(
        self,
        con_id: int,
        side: str,
        quantity: Number,
        price: Number,
        account: str = ACCOUNT,
    ) -> None:
        """A trade made by hand in TWS, not by Sibyl (clientId 0, no orderRef): ``side``
        BUY/SELL ``quantity`` units of ``con_id`` at ``price`` for ``account``; the account's
        position changes and subscribers of reqPositions get the update. Raises ``KeyError``
        for an unknown conId, ``ValueError`` for a bad side, quantity or price."""
        amount, at = _decimal(quantity), _decimal(price)
        self._call(lambda: self._simulator.manual_trade(con_id, side, amount, at, account))

    def set_managed_accounts(self, *accounts: str) -> None:
        """The accounts the login manages (default ``DU123456``), reported as managedAccounts
        to every client that connects from now on (a connected client keeps its list).
        Raises ``ValueError`` without an account."""
        if not accounts:
            raise ValueError("a login manages at least one account")
        self._call(lambda: setattr(self._simulator, "managed_accounts", tuple(accounts)))

    # --- transport faults -----------------------------------------------------------------

    def drop_after_next_place_order(self) -> None:
        """The next placeOrder with transmit=1 closes its connection before anything about it
        is sent; the order (and its held group) is still accepted and processed (it may fill
        at once), and its messages go to other connections of its clientId only (none)."""
        self._call(lambda: setattr(self._simulator.faults, "drop_after_place", 1))

    def disconnect_all(self) -> None:
        """Close every client socket now; orders, fills and positions stay in the book."""
        self._call(self._simulator.disconnect_all)

    def lose_next(self, msg_id: int, count: int = 1) -> None:
        """Silently drop the next ``count`` outgoing messages with id ``msg_id`` (any
        connection), e.g. ``lose_next(3)`` loses the next orderStatus."""
        self._call(lambda: self._simulator.faults.arm_lose(msg_id, count))

    def delay_next(self, msg_id: int, seconds: float) -> None:
        """Deliver the next outgoing message with id ``msg_id`` ``seconds`` late; messages sent
        meanwhile overtake it."""
        self._call(lambda: self._simulator.faults.arm_delay(msg_id, seconds))

    def pacing_violation_next(self, count: int = 1) -> None:
        """The next ``count`` reqHistoricalData requests get error 162 "Historical Market Data
        Service error message:Historical data request pacing violation" instead of bars."""

        def arm() -> None:
            self._simulator.faults.pacing += count

        self._call(arm)

    # --- inspection -----------------------------------------------------------------------

    def orders(self) -> list[OrderSnapshot]:
        """Every order the simulator has accepted (all clients, all states), by orderId."""

        def collect() -> list[OrderSnapshot]:
            return [
                OrderSnapshot(
                    order_id=o.order_id,
                    perm_id=o.perm_id,
                    client_id=o.client_id,
                    con_id=o.instrument.con_id,
                    order_ref=o.order_ref,
                    parent_id=o.parent_id,
                    oca_group=o.oca_group,
                    action=o.action,
                    order_type=o.order_type,
                    quantity=o.quantity,
                    lmt_price=o.lmt_price,
                    aux_price=o.aux_price,
                    tif=o.tif,
                    status=o.status,
                    filled=o.filled,
                    avg_fill_price=o.avg_fill_price,
                    modifications=tuple(o.modifications),
                )
                for o in sorted(self._simulator.book.orders.values(), key=lambda o: o.key[::-1])
            ]

        return self._call(collect)

    def executions(self) -> list[ExecutionSnapshot]:
        """Every execution so far, oldest first."""

        def collect() -> list[ExecutionSnapshot]:
            return [
                ExecutionSnapshot(
                    exec_id=e.exec_id,
                    order_id=e.order_id,
                    perm_id=e.perm_id,
                    client_id=e.client_id,
                    con_id=e.instrument.con_id,
                    order_ref=e.order_ref,
                    side=e.side,
                    shares=e.shares,
                    price=e.price,
                    time=e.time,
                    cum_qty=e.cum_qty,
                    avg_price=e.avg_price,
                    commission=e.commission,
                    currency=e.instrument.currency,
                    realized_pnl=e.realized_pnl,
                )
                for e in self._simulator.book.executions
            ]

        return self._call(collect)

    def positions(self, account: str | None = None) -> dict[int, Decimal]:
        """conId -> signed position (shares/units) of ``account`` (None: summed over every
        account), zero positions left out."""

        def collect() -> dict[int, Decimal]:
            totals: dict[int, Decimal] = {}
            for (holder, con_id), p in self._simulator.book.positions.items():
                if account is None or holder == account:
                    totals[con_id] = totals.get(con_id, Decimal(0)) + p.quantity
            return {con_id: quantity for con_id, quantity in totals.items() if quantity}

        return self._call(collect)

    def place_count(self, order_ref: str) -> int:
        """How many placeOrder messages (new orders and modifications) carried ``order_ref``."""
        return self._call(lambda: self._simulator.place_counts[order_ref])

    def connections(self) -> int:
        """Number of open client connections (accepted and not yet closed)."""
        return self._call(lambda: len(self._simulator.sessions))

    def next_valid_id(self) -> int:
        """The order id the simulator would answer to reqIds now."""
        return self._call(lambda: self._simulator.book.next_valid_id)
