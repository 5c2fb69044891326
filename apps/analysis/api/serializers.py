"""Input and output serializers of the prompt-templates API."""

from typing import Any

from pydantic import ValidationError as PydanticValidationError
from rest_framework import serializers

from apps.analysis.models import PromptScore, PromptTemplate
from apps.analysis.prompts import prompt_template_body_check
from apps.analysis.selectors import prompt_template_writable
from apps.strategies.definitions import PromptTemplateDefinition


def template_body_valid(value: str) -> str:
    """``value`` when it is a body a template version may have (at most
    PROMPT_TEMPLATE_MAX_CHARS characters); raises the serializer's ValidationError otherwise."""
    try:
        prompt_template_body_check(value)
    except ValueError as error:
        raise serializers.ValidationError(str(error)) from error
    return value


class PromptTemplateOutputSerializer(serializers.ModelSerializer[PromptTemplate]):
    """One immutable version of a named Jinja2 prompt template: ``owner`` (user id; null: the
    operator's) owns the name, ``author`` saved this version (null: a management command);
    ``is_published`` (set by staff, on the whole name): every user may read and use it;
    ``can_write``: whether you may save the next version (``POST …/{id}/versions/``)."""

    owner_username = serializers.CharField(
        source="owner.username", read_only=True, allow_null=True, default=None
    )
    author_username = serializers.CharField(
        source="author.username", read_only=True, allow_null=True, default=None
    )
    can_write = serializers.SerializerMethodField()

    class Meta:
        model = PromptTemplate
        fields = (
            "id",
            "name",
            "version",
            "body",
            "created_at",
            "owner",
            "owner_username",
            "author",
            "author_username",
            "is_published",
            "can_write",
        )
        read_only_fields = fields

    def get_can_write(self, template: PromptTemplate) -> bool:
        """Whether the requesting user (``context["request"]``) may save versions of it."""
        request = self.context.get("request")
        return request is not None and prompt_template_writable(
            template=template, user=request.user
        )


class PromptTemplateInputSerializer(serializers.Serializer[Any]):
    """A template body to save under your own template ``name`` (letters, digits, ``-`` and
    ``_``, at most 64: the strategies-file rule, ``PromptTemplateDefinition``); names are per
    owner, so another user's template of that name is neither seen nor changed."""

    name = serializers.CharField(max_length=64)
    body = serializers.CharField(trim_whitespace=False)

    def validate_name(self, value: str) -> str:
        """The name rule of the strategies file."""
        try:
            PromptTemplateDefinition(name=value, body="-")
        except PydanticValidationError as error:
            raise serializers.ValidationError(
                "letters, digits, '-' and '_' only (at most 64)"
            ) from error
        return value

    def validate_body(self, value: str) -> str:
        """At most PROMPT_TEMPLATE_MAX_CHARS characters."""
        return template_body_valid(value)


class PromptVersionInputSerializer(serializers.Serializer[Any]):
    """The body of the next version of this template's name (its owner only)."""

    body = serializers.CharField(trim_whitespace=False)

    def validate_body(self, value: str) -> str:
        """At most PROMPT_TEMPLATE_MAX_CHARS characters."""
        return template_body_valid(value)


class PromptPublishInputSerializer(serializers.Serializer[Any]):
    """``is_published``: true publishes every version of the name to every user (read-only),
    false withdraws it."""

    is_published = serializers.BooleanField()


class PromptPreviewInputSerializer(serializers.Serializer[Any]):
    """``run_id``: a run of one of your strategies (any status); its strategy and as-of time
    give the data the template is rendered with."""

    run_id = serializers.IntegerField(min_value=1)


class PromptPreviewOutputSerializer(serializers.Serializer[Any]):
    """The rendered prompt text, as the run's llm step would send it."""

    prompt = serializers.CharField()


class PromptScoreSerializer(serializers.ModelSerializer[PromptScore]):
    """A template version's latest score for one owner's strategies (``owner``, a user id;
    null: ownerless strategies): shares 0–1, ``avg_r_multiple`` in R (realized P&L over initial
    risk), ``win_rate`` over closed trades; null when there is nothing to share."""

    template_id = serializers.IntegerField(read_only=True)
    template_name = serializers.CharField(source="template.name", read_only=True)
    template_version = serializers.IntegerField(source="template.version", read_only=True)

    class Meta:
        model = PromptScore
        fields = (
            "template_id",
            "template_name",
            "template_version",
            "owner",
            "computed_at",
            "signals",
            "accepted_share",
            "filled_share",
            "closed_trades",
            "win_rate",
            "avg_r_multiple",
        )
        read_only_fields = fields
