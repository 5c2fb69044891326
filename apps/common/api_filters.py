"""Query filters every app's REST API may share: ISO 8601 times normalized to UTC (the runs,
signals and orders lists use them)."""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


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
