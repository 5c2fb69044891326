"""Celery entry points for runs and schedules: each loads ids and calls a service."""

from celery import shared_task
from django.db import transaction

from apps.lineage.models import Run
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
    report = dispatch_due()
    enqueue_runs(report.claimed_run_ids)
    return {"claimed": len(report.claimed_run_ids), "skipped": report.skipped}


@shared_task(name="apps.pipeline.tasks.recalculate_schedules")
def recalculate_schedules() -> int:
    """Recompute every active strategy's next slot (beat: hourly)."""
    return schedules_refresh()
