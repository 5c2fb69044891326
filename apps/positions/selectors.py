"""Reads of strategy positions."""

from decimal import Decimal

from django.db.models import Max, Q, Sum, Value
from django.db.models.functions import Coalesce

from apps.positions.models import PositionSide, PositionStatus, StrategyPosition


def strategy_position_summary(*, strategy_id: int, symbol_id: int) -> dict[str, Decimal]:
    """The strategy's own position in a symbol, as prompts and sizing see it: ``quantity``
    signed (long − short, in units; a strategy normally holds one side), ``average_cost`` of
    the side held (0 when flat), ``realized_pnl`` over every lifetime (symbol's currency).

    One aggregate query: a strategy holds at most one open position per side in a symbol
    (``strategy_position_one_open_per_side``), so each side's sum is that position."""
    is_open = Q(status=PositionStatus.OPEN)
    long, short = Q(side=PositionSide.LONG), Q(side=PositionSide.SHORT)
    zero = Value(Decimal(0))
    totals = StrategyPosition.objects.filter(
        strategy_id=strategy_id, symbol_id=symbol_id
    ).aggregate(
        realized=Coalesce(Sum("realized_pnl"), zero),
        long_quantity=Coalesce(Sum("quantity", filter=is_open & long), zero),
        short_quantity=Coalesce(Sum("quantity", filter=is_open & short), zero),
        long_cost=Coalesce(Max("average_cost", filter=is_open & long), zero),
        short_cost=Coalesce(Max("average_cost", filter=is_open & short), zero),
    )
    quantity = totals["long_quantity"] - totals["short_quantity"]
    held_cost = (
        totals["long_cost"]
        if totals["long_quantity"] >= totals["short_quantity"]
        else totals["short_cost"]
    )
    return {
        "quantity": quantity,
        "average_cost": held_cost if quantity else Decimal(0),
        "realized_pnl": Decimal(totals["realized"]),
    }


def strategy_has_open_positions(*, strategy_id: int) -> bool:
    """Whether the strategy holds any open position (any symbol, side or account)."""
    return StrategyPosition.objects.filter(
        strategy_id=strategy_id, status=PositionStatus.OPEN
    ).exists()
