"""Reads of orders and positions."""

from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from apps.orders.models import Order, OrderRole, OrderStatus, Position

# Entry orders that may still add to the position: not yet at the broker, or working there.
WORKING_ENTRY_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.SUBMITTING,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
)


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


def working_entry_quantity(*, symbol_id: int, side: str) -> Decimal:
    """Shares/contracts that entry orders of ``side`` (``BUY``/``SELL``) in the symbol may still
    add to the position: quantity − filled quantity of every entry pending, being submitted or
    working at the broker (what is filled is already in the position)."""
    unfilled = ExpressionWrapper(
        F("quantity") - F("filled_quantity"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    total = Order.objects.filter(
        symbol_id=symbol_id, role=OrderRole.ENTRY, side=side, status__in=WORKING_ENTRY_STATUSES
    ).aggregate(n=Coalesce(Sum(unfilled), Value(Decimal(0))))["n"]
    return Decimal(total)
