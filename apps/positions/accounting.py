"""Position arithmetic, IBKR-style: average cost includes commissions.

Pure functions on a ``Book`` (one strategy position's numbers); no database. Used by the fill
service and by the rebuild from fills, so both compute exactly the same numbers.

Opening or adding (IBKR "average cost"): average = (q·avg + qty·price ± commission) / (q + qty),
+ for a long (the commission is part of the cost), − for a short (it reduces the proceeds).
Reducing: realized = (price − avg)·closed for a long, (avg − price)·closed for a short, less the
fill's whole commission. A reducing fill larger than the position closes it; the excess is not
the strategy's (returned as ``excess`` and left to reconciliation to show as unattributed).
"""

from dataclasses import dataclass
from decimal import Decimal

COST_QUANTUM = Decimal("0.00000001")
MONEY_QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)


@dataclass
class Book:
    """One position's running numbers, exactly the stored fields (so replaying fills in memory
    and applying them one by one to stored rows give the same numbers): unsigned ``quantity``
    on side ``side`` (LONG/SHORT), ``average_cost`` per unit, ``realized`` and ``commission`` in
    money; entry and exit quantity and average price (commissions excluded, None before the
    first); ``initial_risk`` in money (Σ entry qty × |fill price − stop|)."""

    side: str
    quantity: Decimal = ZERO
    average_cost: Decimal = ZERO
    realized: Decimal = ZERO
    commission: Decimal = ZERO
    entry_quantity: Decimal = ZERO
    entry_price: Decimal | None = None
    exit_quantity: Decimal = ZERO
    exit_price: Decimal | None = None
    initial_risk: Decimal = ZERO

    @property
    def r_multiple(self) -> Decimal | None:
        """Realized P&L / initial risk (R), or None when the risk is unknown (no stop)."""
        if not self.initial_risk:
            return None
        return (self.realized / self.initial_risk).quantize(MONEY_QUANTUM)


def _averaged(
    average: Decimal | None, quantity: Decimal, price: Decimal, added: Decimal
) -> Decimal:
    total = (average or ZERO) * quantity + price * added
    return (total / (quantity + added)).quantize(COST_QUANTUM)


def book_add(
    book: Book, *, quantity: Decimal, price: Decimal, commission: Decimal, stop: Decimal | None
) -> None:
    """Apply an entry fill of ``quantity`` (> 0) at ``price`` with ``commission``; ``stop`` is
    the protective stop of the entry's signal (None: unknown, no risk added)."""
    signed_commission = commission if book.side == "LONG" else -commission
    total = book.quantity * book.average_cost + quantity * price + signed_commission
    book.quantity += quantity
    book.average_cost = (total / book.quantity).quantize(COST_QUANTUM)
    book.commission += commission
    book.entry_price = _averaged(book.entry_price, book.entry_quantity, price, quantity)
    book.entry_quantity += quantity
    if stop is not None:
        book.initial_risk = (book.initial_risk + quantity * abs(price - stop)).quantize(
            MONEY_QUANTUM
        )


def book_reduce(
    book: Book, *, quantity: Decimal, price: Decimal, commission: Decimal
) -> tuple[Decimal, Decimal]:
    """Apply an exit fill; returns (realized P&L of this fill, excess quantity beyond the
    position). The fill's whole commission is charged to the position."""
    closed = min(quantity, book.quantity)
    direction = 1 if book.side == "LONG" else -1
    realized = ((price - book.average_cost) * closed * direction - commission).quantize(
        MONEY_QUANTUM
    )
    book.quantity -= closed
    if book.quantity == 0:
        book.average_cost = ZERO
    book.realized += realized
    book.commission += commission
    if closed:
        book.exit_price = _averaged(book.exit_price, book.exit_quantity, price, closed)
        book.exit_quantity += closed
    return realized, quantity - closed


def outcome(realized: Decimal) -> str:
    """``win`` (realized P&L above 0, commissions included), ``loss`` (below) or
    ``breakeven``."""
    return "win" if realized > 0 else "loss" if realized < 0 else "breakeven"


def entry_side(order_side: str) -> str:
    """The position side an entry order opens: BUY → LONG, SELL → SHORT."""
    return "LONG" if order_side == "BUY" else "SHORT"


def opposite_side(side: str) -> str:
    """The other position side: LONG ↔ SHORT."""
    return "SHORT" if side == "LONG" else "LONG"
