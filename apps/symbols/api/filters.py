"""Query filters of the symbols list."""

from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters

from apps.symbols.models import Symbol


class SymbolFilter(filters.FilterSet):
    """``?sec_type=STK``, ``?currency=USD``, ``?exchange=SMART`` (exact) and ``?search=`` (a
    case-insensitive part of the ticker or description)."""

    search = filters.CharFilter(method="filter_search", label="Part of the ticker or description")

    class Meta:
        model = Symbol
        fields = ("sec_type", "currency", "exchange")

    def filter_search(self, queryset: QuerySet[Symbol], name: str, value: str) -> QuerySet[Symbol]:
        """Symbols whose ticker or description contains ``value`` (case-insensitive)."""
        return queryset.filter(Q(symbol__icontains=value) | Q(description__icontains=value))
