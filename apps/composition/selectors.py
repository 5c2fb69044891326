"""Reads of runs joined with what the apps above lineage recorded for them.

Every selector returns a queryset with its joins and prefetches applied, so a page of runs or
one run's whole lineage costs a constant number of queries whatever the row count.
"""

from django.db.models import F, Prefetch, QuerySet

from apps.analysis.models import LlmCall
from apps.lineage.models import Artifact, Run, Step
from apps.orders.models import Fill, Order


def run_list() -> QuerySet[Run]:
    """Runs with their strategy and, as ``signal_action``, the action of their signal (None
    without one); steps are not loaded. Ordered newest first by id."""
    return (
        Run.objects.select_related("strategy")
        .annotate(signal_action=F("signal__action"))
        .order_by("-id")
    )


def run_lineage() -> QuerySet[Run]:
    """Runs with everything the lineage viewer shows, in six queries per run fetched: the run
    with its strategy and signal; its steps in sequence order; the steps' artifacts; its LLM
    calls (oldest first); its orders (entry first, each with its position action and who
    asked); the orders' fills (oldest first). The
    signal's strategy and symbol are joined too: the signal carries their names."""
    return (
        Run.objects.select_related("strategy", "signal__strategy__symbol")
        .annotate(signal_action=F("signal__action"))
        .prefetch_related(
            Prefetch("steps", queryset=Step.objects.order_by("sequence")),
            Prefetch("steps__artifacts", queryset=Artifact.objects.order_by("kind", "id")),
            Prefetch("llm_calls", queryset=LlmCall.objects.order_by("created_at", "id")),
            Prefetch(
                "orders",
                queryset=Order.objects.select_related("action__requested_by").order_by("id"),
            ),
            Prefetch("orders__fills", queryset=Fill.objects.order_by("executed_at", "id")),
        )
    )
