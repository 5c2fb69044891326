"""Shared helpers of the position tests."""

from decimal import Decimal

from apps.positions.models import AccountPosition, PositionSide, PositionStatus, StrategyPosition
from apps.symbols.models import Symbol
from apps.trading.models import Account


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


def account_rows(account: Account) -> dict[str, tuple[Decimal, Decimal, Decimal, bool]]:
    """The account's reconciled positions: side (NET, LONG, SHORT) -> (broker quantity,
    strategies' sum, unattributed quantity, flagged)."""
    return {
        p.side: (
            p.broker_quantity,
            p.strategy_quantity,
            p.unattributed_quantity,
            p.flagged_at is not None,
        )
        for p in AccountPosition.objects.filter(account=account)
    }
