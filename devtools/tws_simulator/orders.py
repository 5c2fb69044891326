"""The simulator's order book and execution model: pure state, no I/O.

``OrderBook`` keeps every order (keyed by ``(clientId, orderId)``, each with a unique permId),
the executions, one position per (account, conId) and a market price per conId. Its
mutating methods return a list of events (``OrderEvent``, ``ExecutionEvent``,
``CommissionEvent``, ``PositionEvent``, ``ErrorEvent``) in the order the messages have to reach
the client; ``TwsSimulator`` turns them into wire messages (``order_messages``) and routes them.

Execution model (prices in the instrument's currency, quantities in shares/units):
- MKT fills at the current price; LMT BUY fills when price <= limit, SELL when price >= limit,
  always at the current price; STP BUY triggers when price >= aux, SELL when price <= aux, then
  fills at the current price; STP LMT triggers like a stop, then works as a limit.
- ``transmit=False`` orders are held silently; an order with ``transmit=True`` releases itself
  and its held ancestors/descendants (one bracket). A released root is ``Submitted``; a child is
  ``PreSubmitted`` until its parent is completely filled, then ``Submitted`` and evaluated.
- A complete fill cancels the other working orders of the same ocaGroup and the working
  siblings under the same parent (TWS treats bracket children as one-cancels-all), each with
  error 202 "Order Canceled - reason:" sent before its Cancelled status.
  Cancelling an order cancels its working/held children.
- ``arm_split(parts)``: the next order that fills does so in executions of those quantities.
  The first part executes at once; each further part waits for ``continue_fills()`` (the
  server calls it ``PART_DELAY`` seconds later) and only while the order is still marketable.
- Commission (``commission_for``), IBKR fixed style per order, charged cumulatively so partial
  fills sum to the whole order's fee: STK USD 0.005/share, min 1.00, max 1% of value; CASH
  0.2 basis points of value, min 2.00. Realized P&L (net of commission) is reported for fills
  that reduce a position, otherwise ``None`` (sent as TWS's unset double).
"""

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from devtools.tws_simulator.instruments import Instrument

HELD = "Held"  # internal: transmit=False, never shown to the client
PRE_SUBMITTED = "PreSubmitted"
SUBMITTED = "Submitted"
FILLED = "Filled"
CANCELLED = "Cancelled"
INACTIVE = "Inactive"
WORKING = frozenset({PRE_SUBMITTED, SUBMITTED})
ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
PART_DELAY = 0.005  # seconds between the parts of a split fill
ZERO = Decimal(0)
CENT = Decimal("0.01")
REJECTED_PREFIX = "Order rejected - reason:"
ACCOUNT = "DU123456"  # the simulator's single paper account


@dataclass(frozen=True)
class PlaceRequest:
    """The parts of a placeOrder (msg 3) the simulator uses. Quantities in shares/units,
    prices in the instrument's currency (``None`` when the client sent the unset value)."""

    order_id: int
    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    currency: str
    local_symbol: str
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    oca_group: str
    account: str
    open_close: str
    origin: int
    order_ref: str
    transmit: bool
    parent_id: int


@dataclass
class SimOrder:
    """One order in the book. ``status`` is a TWS status or ``HELD``; ``filled`` and
    ``avg_fill_price``/``last_fill_price`` describe the executions so far."""

    order_id: int
    perm_id: int
    client_id: int
    instrument: Instrument
    exchange: str
    action: str
    quantity: Decimal
    order_type: str
    lmt_price: Decimal | None
    aux_price: Decimal | None
    tif: str
    oca_group: str
    account: str
    open_close: str
    origin: int
    order_ref: str
    parent_id: int
    status: str = HELD
    filled: Decimal = ZERO
    fill_value: Decimal = ZERO
    last_fill_price: Decimal = ZERO
    commission_paid: Decimal = ZERO
    triggered: bool = False
    plan: list[Decimal] = field(default_factory=list)
    waiting_part: bool = False
    # (quantity, lmtPrice, auxPrice) each modification of this orderId set, oldest first.
    modifications: list[tuple[Decimal, Decimal | None, Decimal | None]] = field(
        default_factory=list
    )

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill (0 once the order is done)."""
        if self.status in (CANCELLED, INACTIVE):
            return ZERO
        return self.quantity - self.filled

    @property
    def avg_fill_price(self) -> Decimal:
        """Volume-weighted average fill price, 0 before the first fill."""
        return self.fill_value / self.filled if self.filled else ZERO

    @property
    def key(self) -> tuple[int, int]:
        """``(clientId, orderId)``, how TWS and ib_async identify an API order."""
        return (self.client_id, self.order_id)

    def snapshot(self) -> "SimOrder":
        """A copy that later book changes do not affect (events carry snapshots)."""
        return dataclasses.replace(
            self, plan=list(self.plan), modifications=list(self.modifications)
        )


@dataclass(frozen=True)
class SimExecution:
    """One execution. ``side`` is ``BOT``/``SLD``; ``shares`` and ``cum_qty`` in shares/units;
    ``price``/``avg_price`` in the instrument's currency; ``commission`` in
    ``instrument.currency``; ``realized_pnl`` ``None`` for an opening fill."""

    exec_id: str
    order_id: int
    perm_id: int
    client_id: int
    instrument: Instrument
    exchange: str
    account: str
    side: str
    shares: Decimal
    price: Decimal
    time: datetime
    cum_qty: Decimal
    avg_price: Decimal
    order_ref: str
    commission: Decimal
    realized_pnl: Decimal | None


@dataclass(frozen=True)
class SimPosition:
    """The signed position of ``account`` in one contract and its average cost per
    share/unit (fill prices only, commissions excluded)."""

    instrument: Instrument
    quantity: Decimal
    avg_cost: Decimal
    account: str = ACCOUNT


@dataclass(frozen=True)
class OrderEvent:
    """The order changed: send openOrder + orderStatus for this snapshot."""

    order: SimOrder


@dataclass(frozen=True)
class ExecutionEvent:
    """A new execution: send execDetails (reqId -1)."""

    execution: SimExecution


@dataclass(frozen=True)
class CommissionEvent:
    """Send the commissionReport of this execution."""

    execution: SimExecution


@dataclass(frozen=True)
class PositionEvent:
    """A position changed: send a position message to subscribed connections."""

    position: SimPosition


@dataclass(frozen=True)
class ErrorEvent:
    """Send error (msg 4) ``reqId, code, message`` to the connections of ``client_id``."""

    client_id: int
    req_id: int
    code: int
    message: str


Event = OrderEvent | ExecutionEvent | CommissionEvent | PositionEvent | ErrorEvent


def commission_for(instrument: Instrument, quantity: Decimal, value: Decimal) -> Decimal:
    """IBKR fixed-rate commission for a whole order of ``quantity`` shares/units worth ``value``
    (instrument currency), rounded to cents: STK 0.005/share, min 1.00, max 1% of value;
    CASH 0.00002 × value (0.2 bp), min 2.00. Other sec types: 0."""
    if quantity <= 0:
        return ZERO
    if instrument.sec_type == "STK":
        fee = min(max(Decimal("0.005") * quantity, Decimal("1.00")), value * Decimal("0.01"))
    elif instrument.sec_type == "CASH":
        fee = max(value * Decimal("0.00002"), Decimal("2.00"))
    else:
        fee = ZERO
    return fee.quantize(CENT, rounding=ROUND_HALF_UP)


def validate(request: PlaceRequest) -> str | None:
    """Why TWS would reject this order (201 text after ``Order rejected - reason:``), or None."""
    if request.action not in ("BUY", "SELL"):
        return f"Invalid action {request.action!r}"
    if request.quantity <= 0:
        return "The order quantity must be positive"
    if request.order_type not in ORDER_TYPES:
        return f"Order type {request.order_type!r} is not supported by the simulator"
    if request.order_type in ("LMT", "STP LMT") and request.lmt_price is None:
        return "A limit price is required for a limit order"
    if request.order_type in ("STP", "STP LMT") and request.aux_price is None:
        return "A stop price is required for a stop order"
    return None


class OrderBook:
    """Orders, executions, positions and prices shared by all connections.

    ``prices`` maps conId -> current price; ``now`` gives execution times (aware UTC).
    Not thread-safe: call it from the simulator's event loop only."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        prices: dict[int, Decimal],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.instruments = {i.con_id: i for i in instruments}
        self.prices = dict(prices)
        self.now = now
        self.orders: dict[tuple[int, int], SimOrder] = {}
        self.executions: list[SimExecution] = []
        self.positions: dict[tuple[str, int], SimPosition] = {}
        self._max_order_id = 0
        self._next_perm_id = 900_000_001
        self._exec_seq = 0
        self._epoch = int(now().timestamp())
        self._split: list[Decimal] | None = None
        self._reject: tuple[int, str] | None = None

    # --- ids and arming -------------------------------------------------------------------

    @property
    def next_valid_id(self) -> int:
        """The next order id to hand out: above every order id seen (never goes backwards)."""
        return self._max_order_id + 1

    def note_order_id(self, order_id: int) -> None:
        """Remember an order id a client used, so ``next_valid_id`` stays above it."""
        self._max_order_id = max(self._max_order_id, order_id)

    def arm_split(self, parts: list[Decimal]) -> None:
        """Fill the next order that fills as executions of ``parts`` (shares/units). Parts
        beyond the remaining quantity are clipped; a remainder after the parts fills in one.
        Raises ``ValueError`` for an empty list or a non-positive part."""
        if not parts or any(p <= 0 for p in parts):
            raise ValueError(f"split parts must be positive, got {parts}")
        self._split = [Decimal(p) for p in parts]

    def arm_reject(self, code: int, message: str) -> None:
        """Reject the next transmitted order group with error ``code``/``message``."""
        self._reject = (code, message)

    @property
    def has_waiting_parts(self) -> bool:
        """True while a split fill has parts waiting for ``continue_fills``."""
        return any(o.waiting_part for o in self.orders.values() if o.status in WORKING)

    # --- queries --------------------------------------------------------------------------

    def working_orders(self, client_id: int | None = None) -> list[SimOrder]:
        """Orders that are PreSubmitted/Submitted, of one client or (None) all, by orderId."""
        return sorted(
            (
                o
                for o in self.orders.values()
                if o.status in WORKING and (client_id is None or o.client_id == client_id)
            ),
            key=lambda o: (o.order_id, o.client_id),
        )

    # --- requests -------------------------------------------------------------------------

    def place(self, client_id: int, request: PlaceRequest, instrument: Instrument) -> list[Event]:
        """placeOrder from ``client_id`` for ``instrument`` (resolved by the caller).
        New order: held if ``transmit`` is false, else it and its held group go live (or are
        rejected). Existing working/held order: quantity/prices/orderRef are modified
        (``_modify``; errors 103/104/105/201 as TWS). Invalid order: error 201 + status
        Inactive."""
        self.note_order_id(request.order_id)
        existing = self.orders.get((client_id, request.order_id))
        if existing is not None:
            return self._modify(existing, request)
        order = SimOrder(
            order_id=request.order_id,
            perm_id=self._next_perm_id,
            client_id=client_id,
            instrument=instrument,
            exchange=request.exchange or instrument.primary_exchange,
            action=request.action,
            quantity=request.quantity,
            order_type=request.order_type,
            lmt_price=request.lmt_price,
            aux_price=request.aux_price,
            tif=request.tif or "DAY",
            oca_group=request.oca_group,
            account=request.account or ACCOUNT,
            open_close=request.open_close,
            origin=request.origin,
            order_ref=request.order_ref,
            parent_id=request.parent_id,
        )
        self._next_perm_id += 1
        self.orders[order.key] = order
        problem = validate(request)
        if problem is None and order.parent_id and (client_id, order.parent_id) not in self.orders:
            problem = f"Parent order {order.parent_id} not found"
        if problem is not None:
            return self._reject_orders([order], 201, REJECTED_PREFIX + problem)
        if not request.transmit:
            return []
        return self._transmit(order)

    def cancel(self, client_id: int, order_id: int) -> list[Event]:
        """cancelOrder: a working/held order (and its children) -> Cancelled + error 202;
        unknown -> error 10147; finished -> error 10148 with its state."""
        self.note_order_id(order_id)
        order = self.orders.get((client_id, order_id))
        if order is None:
            message = f"OrderId {order_id} that needs to be cancelled is not found."
            return [ErrorEvent(client_id, order_id, 10147, message)]
        if order.status not in WORKING and order.status != HELD:
            message = (
                f"OrderId {order_id} that needs to be cancelled cannot be cancelled, "
                f"state: {order.status}."
            )
            return [ErrorEvent(client_id, order_id, 10148, message)]
        events = self._cancel_tree(order, with_error=True)
        return events + self._sweep()

    def set_price(self, con_id: int, price: Decimal) -> list[Event]:
        """Move the market price of ``con_id`` (instrument currency) and evaluate the working
        orders. Raises ``KeyError`` for an unknown conId, ``ValueError`` for price <= 0."""
        if con_id not in self.instruments:
            raise KeyError(f"unknown conId {con_id}")
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        self.prices[con_id] = Decimal(price)
        return self._sweep()

    def manual_trade(
        self, con_id: int, side: str, quantity: Decimal, price: Decimal, account: str = ACCOUNT
    ) -> list[Event]:
        """An execution no API client placed (a trade typed into TWS by hand, clientId 0, no
        orderRef): ``side`` BUY/SELL of ``quantity`` units of ``con_id`` at ``price`` for
        ``account``, with its commission; the position changes like any fill. Raises
        ``KeyError`` for an unknown conId, ``ValueError`` for a bad side, quantity or price."""
        instrument = self.instruments[con_id]
        if side not in ("BUY", "SELL") or quantity <= 0 or price <= 0:
            raise ValueError(f"a manual trade needs BUY/SELL, quantity > 0, price > 0: {side}")
        commission = commission_for(instrument, quantity, quantity * price)
        signed = quantity if side == "BUY" else -quantity
        realized, position = self._apply_position(instrument, signed, price, commission, account)
        self._exec_seq += 1
        perm_id = self._next_perm_id
        self._next_perm_id += 1
        execution = SimExecution(
            exec_id=f"{con_id:08x}.{self._epoch:08x}.{self._exec_seq:02x}.01",
            order_id=0,
            perm_id=perm_id,
            client_id=0,
            instrument=instrument,
            exchange=instrument.primary_exchange,
            account=account,
            side="BOT" if side == "BUY" else "SLD",
            shares=quantity,
            price=price,
            time=self.now(),
            cum_qty=quantity,
            avg_price=price,
            order_ref="",
            commission=commission,
            realized_pnl=realized,
        )
        self.executions.append(execution)
        return [ExecutionEvent(execution), CommissionEvent(execution), PositionEvent(position)]

    def continue_fills(self) -> list[Event]:
        """Let orders waiting with split parts take their next part (if still marketable)."""
        for order in self.orders.values():
            order.waiting_part = False
        return self._sweep()

    # --- internals ------------------------------------------------------------------------

    def _children(self, order: SimOrder) -> list[SimOrder]:
        return sorted(
            (
                o
                for o in self.orders.values()
                if o.client_id == order.client_id and o.parent_id == order.order_id
            ),
            key=lambda o: o.order_id,
        )

    def _held_group(self, order: SimOrder) -> list[SimOrder]:
        root = order
        while root.parent_id:
            parent = self.orders.get((root.client_id, root.parent_id))
            if parent is None or parent.status != HELD:
                break
            root = parent
        group: list[SimOrder] = []
        pending = [root]
        while pending:
            current = pending.pop(0)
            group.append(current)
            pending += [c for c in self._children(current) if c.status == HELD]
        return group

    def _transmit(self, order: SimOrder) -> list[Event]:
        group = self._held_group(order)
        if self._reject is not None:
            code, message = self._reject
            self._reject = None
            return self._reject_orders(group, code, message)
        events: list[Event] = []
        for member in group:
            parent = self.orders.get((member.client_id, member.parent_id))
            waiting = parent is not None and parent.status != FILLED
            member.status = PRE_SUBMITTED if waiting else SUBMITTED
            events.append(OrderEvent(member.snapshot()))
        return events + self._sweep()

    def _reject_orders(self, orders: list[SimOrder], code: int, message: str) -> list[Event]:
        events: list[Event] = []
        for order in orders:
            order.status = INACTIVE
            events.append(ErrorEvent(order.client_id, order.order_id, code, message))
            events.append(OrderEvent(order.snapshot()))
        return events

    def _modify(self, order: SimOrder, request: PlaceRequest) -> list[Event]:
        """A placeOrder for an orderId the book holds. Held: its values change (released if
        ``transmit``). Working: quantity, lmtPrice and auxPrice are replaced in place (same
        orderId and permId, counted in ``modifications``) and openOrder + orderStatus answer
        it, as TWS acknowledges a modification. Errors as TWS sends them: 104 for a filled
        order, 103 (duplicate order id) for a cancelled or inactive one, 105 when side, order
        type or contract differ from the original, 201 for an invalid value or a quantity
        below the filled one; the order keeps its values."""
        client, order_id = order.client_id, order.order_id
        if order.status == FILLED:
            return [ErrorEvent(client, order_id, 104, "Can't modify a filled order.")]
        if order.status not in WORKING and order.status != HELD:
            return [ErrorEvent(client, order_id, 103, "Duplicate order id")]
        if (request.action, request.order_type) != (order.action, order.order_type) or (
            request.con_id and request.con_id != order.instrument.con_id
        ):
            message = "Order being modified does not match original order."
            return [ErrorEvent(client, order_id, 105, message)]
        problem = validate(request)
        if problem is not None or request.quantity < order.filled:
            reason = problem or "The quantity is below the filled quantity"
            return [ErrorEvent(client, order_id, 201, REJECTED_PREFIX + reason)]
        order.quantity = request.quantity
        order.lmt_price = request.lmt_price
        order.aux_price = request.aux_price
        order.order_ref = request.order_ref
        if order.status == HELD:
            return self._transmit(order) if request.transmit else []
        order.modifications.append((order.quantity, order.lmt_price, order.aux_price))
        return [OrderEvent(order.snapshot()), *self._sweep()]

    def _cancel_tree(
        self, order: SimOrder, *, with_error: bool, error_first: bool = False
    ) -> list[Event]:
        """Cancel ``order`` and its working/held children; ``with_error``: each with error 202
        "Order Canceled - reason:" after its Cancelled status, or before it with
        ``error_first`` (as TWS reports an OCA cancellation)."""
        events: list[Event] = []
        if order.status in WORKING or order.status == HELD:
            order.status = CANCELLED
            order.plan.clear()
            order.waiting_part = False
            cancelled: list[Event] = [OrderEvent(order.snapshot())]
            if with_error:
                message = "Order Canceled - reason:"
                error = ErrorEvent(order.client_id, order.order_id, 202, message)
                cancelled = [error, *cancelled] if error_first else [*cancelled, error]
            events += cancelled
        for child in self._children(order):
            events += self._cancel_tree(child, with_error=with_error, error_first=error_first)
        return events

    def _marketable(self, order: SimOrder, price: Decimal) -> bool:
        buy = order.action == "BUY"
        if order.order_type in ("STP", "STP LMT") and not order.triggered:
            assert order.aux_price is not None
            order.triggered = price >= order.aux_price if buy else price <= order.aux_price
            if not order.triggered:
                return False
        if order.order_type in ("MKT", "STP"):
            return True
        assert order.lmt_price is not None
        return price <= order.lmt_price if buy else price >= order.lmt_price

    def _sweep(self) -> list[Event]:
        """Evaluate Submitted orders until nothing more executes (one execution per order
        per pass; an order waiting for its next split part is skipped)."""
        events: list[Event] = []
        for _ in range(1000):
            executed = False
            for order in self.working_orders():
                if order.status != SUBMITTED or order.waiting_part:
                    continue
                price = self.prices.get(order.instrument.con_id)
                if price is None or not self._marketable(order, price):
                    continue
                events += self._execute(order, price)
                executed = True
            if not executed:
                return events
        raise RuntimeError("order sweep did not settle")

    def _next_quantity(self, order: SimOrder) -> Decimal:
        if order.filled == 0 and not order.plan and self._split is not None:
            order.plan = list(self._split)
            self._split = None
        remaining = order.quantity - order.filled
        if order.plan:
            quantity = min(order.plan.pop(0), remaining)
            if quantity < remaining:
                order.waiting_part = True
                return quantity
            order.plan.clear()
        return remaining

    def _execute(self, order: SimOrder, price: Decimal) -> list[Event]:
        quantity = self._next_quantity(order)
        order.filled += quantity
        order.fill_value += quantity * price
        order.last_fill_price = price
        fee = commission_for(order.instrument, order.filled, order.fill_value)
        commission = max(fee - order.commission_paid, ZERO)
        order.commission_paid += commission
        signed = quantity if order.action == "BUY" else -quantity
        realized, position = self._apply_position(
            order.instrument, signed, price, commission, order.account
        )
        self._exec_seq += 1
        execution = SimExecution(
            exec_id=f"{order.instrument.con_id:08x}.{self._epoch:08x}.{self._exec_seq:02x}.01",
            order_id=order.order_id,
            perm_id=order.perm_id,
            client_id=order.client_id,
            instrument=order.instrument,
            exchange=order.instrument.primary_exchange,
            account=order.account,
            side="BOT" if order.action == "BUY" else "SLD",
            shares=quantity,
            price=price,
            time=self.now(),
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            order_ref=order.order_ref,
            commission=commission,
            realized_pnl=realized,
        )
        self.executions.append(execution)
        if order.filled >= order.quantity:
            order.status = FILLED
            order.waiting_part = False
        events: list[Event] = [
            ExecutionEvent(execution),
            OrderEvent(order.snapshot()),
            CommissionEvent(execution),
            PositionEvent(position),
        ]
        if order.status == FILLED:
            events += self._after_complete_fill(order)
        return events

    def _after_complete_fill(self, order: SimOrder) -> list[Event]:
        events: list[Event] = []
        for other in self.working_orders():
            same_oca = bool(order.oca_group) and other.oca_group == order.oca_group
            sibling = (
                bool(order.parent_id)
                and other.client_id == order.client_id
                and other.parent_id == order.parent_id
            )
            if other is not order and (same_oca or sibling):
                # TWS reports an OCA cancellation as error 202, then the Cancelled status
                events += self._cancel_tree(other, with_error=True, error_first=True)
        for child in self._children(order):
            if child.status == PRE_SUBMITTED:
                child.status = SUBMITTED
                events.append(OrderEvent(child.snapshot()))
        return events

    def _apply_position(
        self,
        instrument: Instrument,
        signed: Decimal,
        price: Decimal,
        commission: Decimal,
        account: str,
    ) -> tuple[Decimal | None, SimPosition]:
        key = (account, instrument.con_id)
        old = self.positions.get(key, SimPosition(instrument, ZERO, ZERO, account))
        realized: Decimal | None = None
        new_quantity = old.quantity + signed
        if old.quantity == 0 or (old.quantity > 0) == (signed > 0):
            total = old.quantity + signed
            avg = (old.quantity * old.avg_cost + signed * price) / total if total else ZERO
        else:
            closed = min(abs(old.quantity), abs(signed))
            direction = 1 if old.quantity > 0 else -1
            realized = (closed * (price - old.avg_cost) * direction - commission).quantize(CENT)
            if new_quantity == 0:
                avg = ZERO
            elif (new_quantity > 0) == (old.quantity > 0):
                avg = old.avg_cost
            else:
                avg = price
        position = SimPosition(instrument, new_quantity, avg, account)
        self.positions[key] = position
        return realized, position
