"""Reads of orders."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum, Value
from django.db.models.functions import Coalesce

from apps.orders.models import ACTIVE_ORDER_STATUSES, Order, OrderReason, OrderRole, OrderStatus

# Entry orders that may still add to the position: not yet at the broker (waiting for a
# person's approval, or about to be sent), or working there.
WORKING_ENTRY_STATUSES = (
    OrderStatus.AWAITING_APPROVAL,
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


@dataclass(frozen=True)
class PositionProtection:
    """A strategy position's working protective orders and scale-ins: the stop price of its
    working stop-loss (None without one), the take-profit's limit, and how many scale-in
    entries it made (those that were cancelled or rejected unfilled do not count)."""

    stop: Decimal | None
    target: Decimal | None
    scale_ins: int


def position_protection(*, position_id: int) -> PositionProtection:
    """The protection and scale-ins of the strategy position ``position_id``."""
    orders = Order.objects.filter(strategy_position_id=position_id)
    stop = (
        orders.filter(role=OrderRole.STOP_LOSS, status__in=ACTIVE_ORDER_STATUSES)
        .order_by("-pk")
        .values_list("stop_price", flat=True)
        .first()
    )
    target = (
        orders.filter(role=OrderRole.TAKE_PROFIT, status__in=ACTIVE_ORDER_STATUSES)
        .order_by("-pk")
        .values_list("limit_price", flat=True)
        .first()
    )
    unfilled_end = (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.FAILED)
    scale_ins = (
        orders.filter(reason=OrderReason.SCALE_IN, role=OrderRole.ENTRY)
        .exclude(status__in=unfilled_end, filled_quantity=0)
        .count()
    )
    return PositionProtection(stop=stop, target=target, scale_ins=scale_ins)
