"""Pruning old records: finished runs with their steps, artifacts (files too), signals, orders
and fills, once everything about them is final. Positions are account state and stay."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

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
    """Ids of runs finished before ``before`` with no order that is still live."""
    live_order = Order.objects.filter(run=OuterRef("pk")).exclude(
        status__in=TERMINAL_ORDER_STATUSES
    )
    return list(
        Run.objects.filter(status__in=FINISHED, finished_at__lt=before)
        .exclude(Exists(live_order))
        .values_list("pk", flat=True)
    )


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
            files += list(
                Artifact.objects.filter(step__run_id__in=batch).values_list("file", flat=True)
            )
            refs = list(
                Order.objects.filter(run_id__in=batch).values_list("client_order_ref", flat=True)
            )
            PaperOrder.objects.filter(client_order_ref__in=refs).delete()
            orders += len(refs)
            runs += Run.objects.filter(pk__in=batch).delete()[1].get("lineage.Run", 0)
    deleted = artifact_files_release(names=files)
    return PruneReport(runs=runs, orders=orders, files=deleted)
