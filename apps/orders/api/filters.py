"""Query filters of the orders and fills lists."""

import django_filters
from django.db.models import QuerySet

from apps.common.api_filters import UtcIsoDateTimeFilter
from apps.orders.models import (
    Fill,
    Order,
    OrderReason,
    OrderRole,
    OrderStatus,
    PositionAction,
    PositionActionStatus,
    Side,
)
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition


class OrderFilter(django_filters.FilterSet):
    """``status`` (repeatable: ``?status=submitted&status=partially_filled``), ``strategy``,
    ``symbol`` and ``run`` (ids), ``role``, ``side``, ``broker`` and ``flagged`` (true: only
    orders reconciliation flagged; false: only the others)."""

    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    strategy = django_filters.NumberFilter(field_name="strategy_id")
    symbol = django_filters.NumberFilter(field_name="symbol_id")
    run = django_filters.NumberFilter(field_name="run_id")
    role = django_filters.ChoiceFilter(choices=OrderRole.choices)
    side = django_filters.ChoiceFilter(choices=Side.choices)
    broker = django_filters.CharFilter()
    flagged = django_filters.BooleanFilter(method="filter_flagged")

    class Meta:
        model = Order
        fields = ["status", "strategy", "symbol", "run", "role", "side", "broker", "flagged"]

    def filter_flagged(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        """Orders with (``True``) or without (``False``) a ``flagged_at`` time."""
        return queryset.filter(flagged_at__isnull=not value)


class FillFilter(django_filters.FilterSet):
    """``order``, ``strategy`` and ``run`` (ids) and an execution range (ISO 8601, UTC)."""

    order = django_filters.NumberFilter(field_name="order_id")
    strategy = django_filters.NumberFilter(field_name="order__strategy_id")
    run = django_filters.NumberFilter(field_name="order__run_id")
    executed_after = UtcIsoDateTimeFilter(field_name="executed_at", lookup_expr="gte")
    executed_before = UtcIsoDateTimeFilter(field_name="executed_at", lookup_expr="lt")

    class Meta:
        model = Fill
        fields = ["order", "strategy", "run", "executed_after", "executed_before"]


class StrategyPositionFilter(django_filters.FilterSet):
    """``account``, ``strategy`` and ``symbol`` (ids), ``status`` (open, closed) and ``side``
    (LONG, SHORT)."""

    account = django_filters.NumberFilter(field_name="account_id")
    strategy = django_filters.NumberFilter(field_name="strategy_id")
    symbol = django_filters.NumberFilter(field_name="symbol_id")
    status = django_filters.ChoiceFilter(choices=PositionStatus.choices)
    side = django_filters.ChoiceFilter(choices=PositionSide.choices)

    class Meta:
        model = StrategyPosition
        fields = ["account", "strategy", "symbol", "status", "side"]


class PositionActionFilter(django_filters.FilterSet):
    """``account``, ``strategy`` and ``strategy_position`` (ids), ``kind`` (close, reverse,
    scale_in, trail, end_of_day, person) and ``status`` (requested, done, failed, refused)."""

    account = django_filters.NumberFilter(field_name="account_id")
    strategy = django_filters.NumberFilter(field_name="strategy_id")
    strategy_position = django_filters.NumberFilter(field_name="strategy_position_id")
    kind = django_filters.ChoiceFilter(choices=OrderReason.choices)
    status = django_filters.ChoiceFilter(choices=PositionActionStatus.choices)

    class Meta:
        model = PositionAction
        fields = ["account", "strategy", "strategy_position", "kind", "status"]
