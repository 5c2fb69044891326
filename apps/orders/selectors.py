"""Reads of orders."""

from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from apps.orders.models import Order, OrderRole, OrderStatus

# Entry orders that may still add to the position: not yet at the broker, or working there.
WORKING_ENTRY_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.SUBMITTING,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
)


def working_entry_quantity(*, strategy_id: int, symbol_id: int, side: str) -> Decimal:
    """Shares/contracts that the strategy's entry orders of ``side`` (``BUY``/``SELL``) in the
    symbol may still add to its position: quantity − filled quantity of every entry pending,
    being submitted or working at the broker (what is filled is already in the position)."""
    unfilled = ExpressionWrapper(
        F("quantity") - F("filled_quantity"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    total = Order.objects.filter(
        strategy_id=strategy_id,
        symbol_id=symbol_id,
        role=OrderRole.ENTRY,
        side=side,
        status__in=WORKING_ENTRY_STATUSES,
    ).aggregate(n=Coalesce(Sum(unfilled), Value(Decimal(0))))["n"]
    return Decimal(total)
