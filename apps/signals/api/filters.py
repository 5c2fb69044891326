"""Query filters of the signals list."""

import django_filters

from apps.common.api_filters import UtcIsoDateTimeFilter
from apps.signals.models import Action, Signal, SignalStatus


class SignalFilter(django_filters.FilterSet):
    """``strategy`` (id), ``action``, ``status`` and a creation range (ISO 8601, UTC)."""

    strategy = django_filters.NumberFilter(field_name="strategy_id")
    action = django_filters.ChoiceFilter(choices=Action.choices)
    status = django_filters.ChoiceFilter(choices=SignalStatus.choices)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Signal
        fields = ["strategy", "action", "status", "created_after", "created_before"]
