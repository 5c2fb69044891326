"""Query filters of the strategies list."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from apps.strategies.models import Strategy


class StrategyFilter(filters.FilterSet):
    """``?is_active=true``, ``?symbol=<id>``, ``?trading_mode=paper|live`` and ``?search=`` (a
    case-insensitive part of the name or slug)."""

    search = filters.CharFilter(method="filter_search", label="Part of the name or slug")

    class Meta:
        model = Strategy
        fields = ("is_active", "symbol", "trading_mode")

    def filter_search(
        self, queryset: QuerySet[Strategy], name: str, value: str
    ) -> QuerySet[Strategy]:
        """Strategies whose name or slug contains ``value`` (case-insensitive)."""
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))
