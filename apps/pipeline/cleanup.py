"""Pruning old records: finished runs with their steps, artifacts (files too), signals, orders
and fills, once everything about them is final. Positions are account state and stay."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from apps.lineage.models import Artifact, Run, RunStatus
from apps.lineage.services import artifact_files_release
from apps.orders.models import TERMINAL_ORDER_STATUSES, Order, PaperOrder

FINISHED = (
    RunStatus.SUCCEEDED,
    RunStatus.FAILED,
    RunStatus.ABANDONED,
    RunStatus.SKIPPED,
    RunStatus.RECOVERED,
    RunStatus.EXPIRED,
)
BATCH = 500


@dataclass(frozen=True)
class PruneReport:
    """How many runs, orders and artifact files were removed (a file still referenced by a
    kept artifact is not removed, nor counted)."""

    runs: int
    orders: int
    files: int


def prunable_runs(*, before: datetime) -> list[int]:
    """Ids of runs finished before ``before`` with no order that is still live.

    Runs of a backtest's hidden strategy copies (``Strategy.backtest_of`` set) are left out:
    a backtest is kept or pruned as one unit (``apps.evaluation.retention``), so its report
    never loses some slots while others remain.
    """
    live_order = Order.objects.filter(
        Q(run=OuterRef("pk")) | Q(action__run=OuterRef("pk"))
    ).exclude(status__in=TERMINAL_ORDER_STATUSES)
    return list(
        Run.objects.filter(status__in=FINISHED, finished_at__lt=before)
        .exclude(strategy__backtest_of__isnull=False)
        .exclude(Exists(live_order))
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class DeletedRuns:
    """What ``runs_delete`` removed: run and order counts, and the artifact file names the
    deleted artifacts pointed at (to release once the transaction has committed)."""

    runs: int
    orders: int
    files: list[str]


def runs_delete(run_ids: list[int]) -> DeletedRuns:
    """Delete the runs ``run_ids`` with their steps, artifacts, signals, orders and fills, and
    the paper book's orders behind those orders. A run's position actions (close, reverse, …)
    go with it, and so do the orders they sent, which carry no run of their own. Call inside a
    transaction; the returned file names are released by the caller after commit
    (``artifact_files_release``)."""
    files = list(Artifact.objects.filter(step__run_id__in=run_ids).values_list("file", flat=True))
    orders = Order.objects.filter(Q(run_id__in=run_ids) | Q(action__run_id__in=run_ids))
    refs = list(orders.values_list("client_order_ref", flat=True))
    PaperOrder.objects.filter(client_order_ref__in=refs).delete()
    orders.delete()
    runs = Run.objects.filter(pk__in=run_ids).delete()[1].get("lineage.Run", 0)
    return DeletedRuns(runs=runs, orders=len(refs), files=files)


def records_prune(*, now: datetime, retention_days: int) -> PruneReport:
    """Delete finished runs older than ``retention_days`` and everything hanging off them.

    Artifact files are deleted from storage after the rows are gone, and only those no kept
    artifact still references (files are content-addressed and shared; a crash in between
    leaves orphan files, never rows pointing at missing files).
    """
    run_ids = prunable_runs(before=now - timedelta(days=retention_days))
    runs = orders = 0
    files: list[str] = []
    for start in range(0, len(run_ids), BATCH):
        batch = run_ids[start : start + BATCH]
        with transaction.atomic():
            deleted = runs_delete(batch)
        runs += deleted.runs
        orders += deleted.orders
        files += deleted.files
    released = artifact_files_release(names=files)
    return PruneReport(runs=runs, orders=orders, files=released)
