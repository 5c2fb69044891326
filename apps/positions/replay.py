"""Replaying fills into strategy positions in memory, exactly as the fill service applies them
one by one (``apps.positions.services``): the rebuild (``manage.py rebuild_positions``) and the
migration that introduced strategy positions both use it, so stored state and rebuilt state
are computed by the same rules.

Rules (the same as live): an entry fill goes to the position its order already filled into
while that is open, else to the strategy's open position on that side (BUY → LONG,
SELL → SHORT), opened when there is none; the bracket's exits reduce the position their
entry filled into; a lone exit (a close) the strategy's open position on the side it reduces,
and a scale-in entry the open position on its side; an exit with no open position to reduce,
or beyond it, is excess (unattributed quantity).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from apps.positions.accounting import (
    Book,
    book_add,
    book_reduce,
    entry_side,
    opposite_side,
    outcome,
)

ZERO = Decimal(0)


class FillFact(NamedTuple):
    """One stored fill with what position accounting needs of its order: ids, the order's
    role (entry or exit) and side, the strategy, account and symbol, quantity (units), price
    and commission (symbol's currency), time (UTC), the signal's stop, and the opening run's
    prompt version and model. Immutable; a named tuple, as the rebuild makes 100k of them."""

    fill_id: int
    order_id: int
    parent_id: int | None
    is_entry: bool
    order_side: str
    account_id: int
    strategy_id: int
    symbol_id: int
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime
    stop: Decimal | None = None
    run_id: int | None = None
    prompt_template_id: int | None = None
    llm_model: str = ""


@dataclass
class ReplayedPosition:
    """A strategy position as the replay computed it (``number``: its creation order)."""

    number: int
    account_id: int
    strategy_id: int
    symbol_id: int
    book: Book
    opened_at: datetime
    closed_at: datetime | None = None
    run_id: int | None = None
    prompt_template_id: int | None = None
    llm_model: str = ""

    @property
    def is_open(self) -> bool:
        """Not yet closed."""
        return self.closed_at is None

    @property
    def outcome(self) -> str:
        """win, loss or breakeven once closed; blank while open."""
        return "" if self.is_open else outcome(self.book.realized)


@dataclass
class ReplayResult:
    """Every position in creation order; per fill id its realized P&L, excess and position
    number; per order id the position number it belongs to."""

    positions: list[ReplayedPosition] = field(default_factory=list)
    fill_realized: dict[int, Decimal] = field(default_factory=dict)
    fill_excess: dict[int, Decimal] = field(default_factory=dict)
    fill_position: dict[int, int | None] = field(default_factory=dict)
    order_position: dict[int, int] = field(default_factory=dict)


def replay(fills: Iterable[FillFact]) -> ReplayResult:
    """Apply ``fills`` in the order given (the caller orders them by execution time, then id,
    as they were recorded) and return the resulting positions."""
    result = ReplayResult()
    open_by_key: dict[tuple[int, int, str], ReplayedPosition] = {}
    positions = result.positions
    fill_realized = result.fill_realized
    fill_excess = result.fill_excess
    fill_position = result.fill_position
    order_position = result.order_position
    for fill in fills:
        fill_id = fill.fill_id
        if fill.is_entry:
            position = _entry(result, open_by_key, fill)
            fill_realized[fill_id] = ZERO
            fill_excess[fill_id] = ZERO
            fill_position[fill_id] = position.number
            continue
        number = order_position.get(fill.order_id)
        parent_id = fill.parent_id
        if number is None:
            if parent_id is not None:
                number = order_position.get(parent_id)
            else:
                # A lone exit (a close) reduces the strategy's open position on the side it
                # sells or buys back, as it named that position when it was created.
                reduced = opposite_side(entry_side(fill.order_side))
                held = open_by_key.get((fill.strategy_id, fill.symbol_id, reduced))
                if held is not None:
                    number = held.number
                    order_position[fill.order_id] = number
        target = positions[number] if number is not None else None
        fill_position[fill_id] = number
        if target is None or target.closed_at is not None:
            fill_realized[fill_id] = ZERO
            fill_excess[fill_id] = fill.quantity
            continue
        book = target.book
        realized, excess = book_reduce(
            book, quantity=fill.quantity, price=fill.price, commission=fill.commission
        )
        fill_realized[fill_id] = realized
        fill_excess[fill_id] = excess
        if book.quantity == 0:
            target.closed_at = fill.executed_at
            key = (target.strategy_id, target.symbol_id, book.side)
            if open_by_key.get(key) is target:
                del open_by_key[key]
    return result


def _entry(
    result: ReplayResult,
    open_by_key: dict[tuple[int, int, str], ReplayedPosition],
    fill: FillFact,
) -> ReplayedPosition:
    side = entry_side(fill.order_side)
    key = (fill.strategy_id, fill.symbol_id, side)
    number = result.order_position.get(fill.order_id)
    position = result.positions[number] if number is not None else None
    if position is None or position.closed_at is not None:
        position = open_by_key.get(key)
    if position is None:
        position = ReplayedPosition(
            number=len(result.positions),
            account_id=fill.account_id,
            strategy_id=fill.strategy_id,
            symbol_id=fill.symbol_id,
            book=Book(side=side),
            opened_at=fill.executed_at,
            run_id=fill.run_id,
            prompt_template_id=fill.prompt_template_id,
            llm_model=fill.llm_model,
        )
        result.positions.append(position)
        open_by_key[key] = position
    book_add(
        position.book,
        quantity=fill.quantity,
        price=fill.price,
        commission=fill.commission,
        stop=fill.stop,
    )
    result.order_position[fill.order_id] = position.number
    return position
