"""Reads of analysis records: language-model usage sums and the latest prompt scores."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate

from apps.analysis.models import LlmCall, PromptScore


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
    """
    calls = LlmCall.objects.all()
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


def prompt_scores_latest() -> list[PromptScore]:
    """The most recent PromptScore of every template version that has one (template loaded),
    ordered by template name and version (newest version first). One query."""
    newest = PromptScore.objects.filter(template=OuterRef("template")).order_by(
        "-computed_at", "-pk"
    )
    return list(
        PromptScore.objects.filter(pk=Subquery(newest.values("pk")[:1]))
        .select_related("template")
        .order_by("template__name", "-template__version")
    )
