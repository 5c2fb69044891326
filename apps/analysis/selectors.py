"""Reads of analysis records: language-model usage sums, prompt templates a user may read, use
or write, and the latest prompt scores."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from apps.analysis.models import LlmCall, PromptScore, PromptTemplate


@dataclass(frozen=True)
class LlmUsageRow:
    """One strategy's language-model calls on one UTC day; cost in USD (estimated)."""

    strategy: str
    day: date
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    failed_calls: int


def llm_usage_by_strategy_day(*, since: date | None = None) -> list[LlmUsageRow]:
    """Sum LlmCall rows per strategy slug and UTC calendar day of ``created_at``, in the database.

    Input: ``since``, a UTC date; calls before its midnight UTC are left out (None: all calls).
    Output: one row per (strategy, day) that had at least one call, ordered by day then slug;
    ``calls`` counts failed calls too and ``failed_calls`` those with ``succeeded`` false.
    Tokens are summed as the provider reported them (0 when a call failed before an answer).
    Answers served by the LLM answer cache (``cache`` ``hit``) are left out: no request was made
    and nothing was spent that day (their row carries the original call's tokens and cost).
    """
    calls = LlmCall.objects.exclude(cache="hit")
    if since is not None:
        calls = calls.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=UTC))
    rows = (
        calls.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("strategy__slug", "day")
        .annotate(
            calls=Count("pk"),
            prompt_tokens=Sum("prompt_tokens"),
            completion_tokens=Sum("completion_tokens"),
            cost_usd=Sum("cost_usd"),
            failed_calls=Count("pk", filter=Q(succeeded=False)),
        )
        .order_by("day", "strategy__slug")
    )
    return [
        LlmUsageRow(
            strategy=row["strategy__slug"],
            day=row["day"],
            calls=row["calls"],
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            cost_usd=row["cost_usd"],
            failed_calls=row["failed_calls"],
        )
        for row in rows
    ]


def prompt_templates_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[PromptTemplate]:
    """The template versions ``user`` may read: their own names and published ones; staff read
    every version (the operator's, owner null, included). Anonymous: none."""
    if not user.is_authenticated:
        return PromptTemplate.objects.none()
    if getattr(user, "is_staff", False):
        return PromptTemplate.objects.all()
    return PromptTemplate.objects.filter(Q(owner=user.pk) | Q(is_published=True))


def prompt_templates_usable(*, owner_id: int | None) -> QuerySet[PromptTemplate]:
    """The template versions a strategy owned by ``owner_id`` may use: the owner's own names
    (None: an ownerless strategy uses the operator's, owner null) and published ones. The
    owner being staff changes nothing: a strategy runs what its owner chose."""
    return PromptTemplate.objects.filter(Q(owner=owner_id) | Q(is_published=True))


def prompt_template_usable(*, template_id: int, owner_id: int | None) -> bool:
    """Whether a strategy owned by ``owner_id`` may use template version ``template_id``."""
    return prompt_templates_usable(owner_id=owner_id).filter(pk=template_id).exists()


def prompt_template_writable(
    *, template: PromptTemplate, user: AbstractBaseUser | AnonymousUser
) -> bool:
    """Whether ``user`` may save versions of ``template``'s name: its owner, or staff for an
    operator's template (owner null). Nobody else, staff included, writes a user's template,
    and a published template is read-only to everyone but its owner."""
    if not user.is_authenticated:
        return False
    if template.owner_id is None:
        return bool(getattr(user, "is_staff", False))
    return bool(template.owner_id == user.pk)


def prompt_scores_latest(
    *, owner_id: int | None = None, all_owners: bool = False
) -> list[PromptScore]:
    """The most recent PromptScore of every (template version, owner) that has one (template
    loaded), ordered by template name, version (newest first) and owner.

    Input: ``owner_id``, the owner whose strategies' scores to return (None: ownerless
    strategies'); ``all_owners`` True returns every owner's (staff), ignoring ``owner_id``.
    One query.
    """
    # DISTINCT ON keeps one row per (template, owner), NULL owners grouped together.
    newest = (
        PromptScore.objects.order_by("template_id", "owner_id", "-computed_at", "-pk")
        .distinct("template_id", "owner_id")
        .values("pk")
    )
    scores = PromptScore.objects.filter(pk__in=Subquery(newest))
    if not all_owners:
        scores = scores.filter(owner=owner_id)
    return list(
        scores.select_related("template", "owner").order_by(
            "template__name", "-template__version", "owner_id"
        )
    )
