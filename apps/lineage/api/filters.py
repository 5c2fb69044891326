"""Query filters of the runs list, and the UTC time filter the lineage, signals and orders
lists share."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField

from apps.lineage.models import Run, RunStatus, RunTrigger


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time converted to UTC; a time that has no UTC equivalent (year 1 at +01:00)
    is invalid input (400), and so PostgreSQL never sees an offset it refuses (beyond ±15:59)."""

    def to_python(self, value: Any) -> datetime | None:
        """The parsed time in UTC, or None for an empty value."""
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` whose value is normalized to UTC before it reaches the query."""

    field_class = UtcIsoDateTimeField


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
