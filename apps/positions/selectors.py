"""Reads of strategy positions."""

from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce

from apps.positions.models import PositionSide, PositionStatus, StrategyPosition


def strategy_position_summary(*, strategy_id: int, symbol_id: int) -> dict[str, Decimal]:
    """The strategy's own position in a symbol, as prompts and sizing see it: ``quantity``
    signed (long − short, in units; a strategy normally holds one side), ``average_cost`` of
    the side held (0 when flat), ``realized_pnl`` over every lifetime (symbol's currency)."""
    rows = list(
        StrategyPosition.objects.filter(
            strategy_id=strategy_id, symbol_id=symbol_id, status=PositionStatus.OPEN
        ).values_list("side", "quantity", "average_cost")
    )
    quantity = sum(
        (qty if side == PositionSide.LONG else -qty for side, qty, _ in rows), Decimal(0)
    )
    held = max(rows, key=lambda row: row[1], default=None)
    realized = StrategyPosition.objects.filter(
        strategy_id=strategy_id, symbol_id=symbol_id
    ).aggregate(total=Coalesce(Sum("realized_pnl"), Decimal(0)))["total"]
    return {
        "quantity": quantity,
        "average_cost": held[2] if held is not None and quantity else Decimal(0),
        "realized_pnl": Decimal(realized),
    }


def strategy_has_open_positions(*, strategy_id: int) -> bool:
    """Whether the strategy holds any open position (any symbol, side or account)."""
    return StrategyPosition.objects.filter(
        strategy_id=strategy_id, status=PositionStatus.OPEN
    ).exists()
