"""Celery entry points for runs and schedules: each loads ids and calls a service."""

from dataclasses import asdict
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.lineage.models import Run
from apps.lineage.services import runs_mark_abandoned
from apps.pipeline.cleanup import records_prune
from apps.pipeline.dispatch import dispatch_due, schedules_refresh
from apps.pipeline.executor import run_execute


@shared_task(name="apps.pipeline.tasks.execute_run")
def execute_run(run_id: int) -> str:
    """Execute one claimed run; a run that is no longer pending is left alone (idempotent)."""
    run = Run.objects.get(pk=run_id)
    return str(run_execute(run=run).status)


def enqueue_runs(run_ids: list[int]) -> None:
    """Send runs to the ``runs`` queue once the transaction that created them has committed."""
    transaction.on_commit(lambda: [execute_run.delay(run_id) for run_id in run_ids])


@shared_task(name="apps.pipeline.tasks.dispatch_due_strategies")
def dispatch_due_strategies() -> dict[str, int]:
    """Claim due slots (beat: every 15 s) and enqueue their runs."""
    # A run whose heartbeat is older than the hard time limit has lost its worker.
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    runs_mark_abandoned(older_than=stale)
    report = dispatch_due()
    enqueue_runs(report.claimed_run_ids)
    return {"claimed": len(report.claimed_run_ids), "skipped": report.skipped}


@shared_task(name="apps.pipeline.tasks.recalculate_schedules")
def recalculate_schedules() -> int:
    """Recompute every active strategy's next slot (beat: hourly)."""
    return schedules_refresh()


@shared_task(name="apps.pipeline.tasks.cleanup_old_records")
def cleanup_old_records() -> dict[str, int]:
    """Prune finished runs and terminal orders past ``RETENTION_DAYS`` (beat: weekly)."""
    return asdict(records_prune(now=timezone.now(), retention_days=settings.RETENTION_DAYS))
