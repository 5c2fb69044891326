"""Query filters of the runs list."""

import django_filters

from apps.common.api_filters import UtcIsoDateTimeFilter
from apps.lineage.models import Run, RunStatus, RunTrigger


class RunFilter(django_filters.FilterSet):
    """``strategy`` (id) or ``strategy_slug``, ``status``, ``trigger``, and ranges of the
    creation time and of the as-of time (ISO 8601, UTC; ``_after`` inclusive, ``_before``
    exclusive)."""

    strategy = django_filters.NumberFilter(field_name="strategy_id")
    strategy_slug = django_filters.CharFilter(field_name="strategy__slug")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    trigger = django_filters.ChoiceFilter(choices=RunTrigger.choices)
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    as_of_after = UtcIsoDateTimeFilter(field_name="as_of", lookup_expr="gte")
    as_of_before = UtcIsoDateTimeFilter(field_name="as_of", lookup_expr="lt")

    class Meta:
        model = Run
        fields = [
            "strategy",
            "strategy_slug",
            "status",
            "trigger",
            "created_after",
            "created_before",
            "as_of_after",
            "as_of_before",
        ]
