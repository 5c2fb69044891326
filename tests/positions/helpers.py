"""Shared helpers of the position tests."""

from decimal import Decimal

from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.symbols.models import Symbol


def net_position(symbol: Symbol) -> Decimal:
    """The signed sum of every open strategy position in ``symbol`` (negative is short)."""
    return sum(
        (
            p.quantity if p.side == PositionSide.LONG else -p.quantity
            for p in StrategyPosition.objects.filter(symbol=symbol, status=PositionStatus.OPEN)
        ),
        Decimal(0),
    )


def last_position(symbol: Symbol) -> StrategyPosition:
    """The newest strategy position (open or closed) in ``symbol``."""
    return StrategyPosition.objects.filter(symbol=symbol).latest("opened_at", "id")
