"""A strategy's position as it was at a moment: what a run as of that moment may see.

A run's prompt and its sizing see the strategy's position as of the run's as-of time, never
fills executed after it (a run as of 2008 must not see P&L from 2016). When no fill of the
strategy in the symbol is at or after the as-of — every live run, and every slot of a backtest
run in time order — that is the stored position; otherwise the strategy's fills up to the
as-of are replayed by the live rules (``apps.positions.replay``).
"""

from datetime import datetime
from decimal import Decimal

from apps.orders.models import Fill
from apps.orders.position_rebuild import fill_facts
from apps.positions.models import PositionSide
from apps.positions.replay import replay
from apps.positions.selectors import strategy_position_summary


def strategy_position_as_of(
    *, strategy_id: int, symbol_id: int, as_of: datetime
) -> dict[str, Decimal]:
    """The strategy's own position in a symbol as of ``as_of`` (tz-aware UTC), in the shape of
    ``strategy_position_summary``: ``quantity`` signed (units; negative short), ``average_cost``
    of the side held (0 when flat) and ``realized_pnl`` of every lifetime up to then (the
    symbol's currency), from fills executed before ``as_of`` — a fill at the very as-of (an
    order the run itself sent, filled at the bar opening then) is its consequence, not what it
    saw."""
    fills = Fill.objects.filter(order__strategy_id=strategy_id, order__symbol_id=symbol_id)
    if not fills.filter(executed_at__gte=as_of).exists():
        return strategy_position_summary(strategy_id=strategy_id, symbol_id=symbol_id)
    facts, _ = fill_facts(fills.filter(executed_at__lt=as_of))
    result = replay(facts)
    held = [p for p in result.positions if p.is_open and p.book.quantity]
    quantity = sum(
        (p.book.quantity if p.book.side == PositionSide.LONG else -p.book.quantity for p in held),
        Decimal(0),
    )
    largest = max(held, key=lambda p: p.book.quantity, default=None)
    average = largest.book.average_cost if largest is not None and quantity else Decimal(0)
    return {
        "quantity": quantity,
        "average_cost": average,
        "realized_pnl": sum((p.book.realized for p in result.positions), Decimal(0)),
    }
