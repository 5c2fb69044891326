"""Serializer fields every app's REST API may share (the runs, signals and orders APIs do)."""

from functools import cache
from typing import Any

from django.db.models import TextChoices
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


def choice_field(
    choices: type[TextChoices], component_name: str, **kwargs: Any
) -> serializers.ChoiceField:
    """A read-only choice field whose OpenAPI enum is the named component ``component_name``.

    Several models have a ``status`` (or ``order_type``) with different values; drf-spectacular
    would name all those enums after the field and warn about the collision. A named component
    per choice set (``RunStatusEnum``, ``OrderStatusEnum``, …) keeps them apart; one field
    class per component name, so several serializers may use the same component.
    """
    return _choice_field_class(choices, component_name)(
        choices=choices.choices, read_only=True, **kwargs
    )


@cache
def _choice_field_class(
    choices: type[TextChoices], component_name: str
) -> type[serializers.ChoiceField]:
    schema = {"type": "string", "enum": list(choices.values)}

    @extend_schema_field(schema, component_name=component_name)
    class InlineChoiceField(serializers.ChoiceField):
        pass

    return InlineChoiceField
