"""Reads of orders and positions."""

from decimal import Decimal

from apps.orders.models import Position


def position_for_symbol(*, symbol_id: int) -> dict[str, Decimal]:
    """The account's position in a symbol: signed quantity, average cost, realized P&L."""
    position = Position.objects.filter(symbol_id=symbol_id).first()
    if position is None:
        return {"quantity": Decimal(0), "average_cost": Decimal(0), "realized_pnl": Decimal(0)}
    return {
        "quantity": position.quantity,
        "average_cost": position.average_cost,
        "realized_pnl": position.realized_pnl,
    }
