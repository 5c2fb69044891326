"""A real Celery worker on Redis executes dispatched runs; redelivery never runs a run twice."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from apps.lineage.models import Run
from apps.pipeline.dispatch import dispatch_due
from apps.pipeline.tasks import dispatch_due_strategies, execute_run
from apps.symbols.models import Symbol
from celery_app import app
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db(transaction=True)
SLOT = datetime(2012, 6, 1, 20, 0, tzinfo=UTC)


@pytest.fixture
def worker() -> Iterator[None]:
    app.conf.task_always_eager = False
    with start_worker(
        app, pool="solo", queues=["runs", "control"], perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def test_a_dispatched_slot_runs_through_six_steps_on_the_worker(goog: Symbol, worker: None) -> None:
    StrategyFactory.create(
        symbol=goog, schedule_cron="0 20 * * *", schedule_timezone="UTC", next_run_at=SLOT
    )
    report = dispatch_due(now=SLOT + timedelta(seconds=3))
    results = [execute_run.delay(run_id) for run_id in report.claimed_run_ids]
    assert [r.get(timeout=60) for r in results] == ["succeeded"]
    run = Run.objects.get()
    assert run.steps.count() == 6 and run.trigger == "schedule"


def test_a_redelivered_run_is_not_executed_again(goog: Symbol, worker: None) -> None:
    strategy = StrategyFactory.create(symbol=goog, next_run_at=SLOT)
    run_id = dispatch_due(now=SLOT + timedelta(seconds=3)).claimed_run_ids[0]
    assert execute_run.delay(run_id).get(timeout=60) == "succeeded"
    # acks_late redelivers a task whose worker died: the same message arrives again
    assert execute_run.delay(run_id).get(timeout=60) == "succeeded"
    assert Run.objects.get(pk=run_id).steps.count() == 6
    assert strategy.runs.count() == 1


def test_the_beat_task_dispatches_and_enqueues(goog: Symbol, worker: None) -> None:
    StrategyFactory.create(
        symbol=goog,
        schedule_cron="* * * * *",
        schedule_timezone="UTC",
        next_run_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    outcome = dispatch_due_strategies.delay().get(timeout=60)
    assert outcome == {"claimed": 1, "skipped": 0, "resent": 0, "expired": 0}
    run = Run.objects.get()
    deadline = time.monotonic() + 60
    while run.status in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    assert run.steps.count() == 6


def test_run_strategy_async_enqueues_a_run_for_the_worker(goog: Symbol, worker: None) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    out = StringIO()
    call_command("run_strategy", strategy.slug, "--async", "--as-of", "2012-06-01", stdout=out)
    run = Run.objects.get()
    assert out.getvalue().startswith(f"run {run.pk} of {strategy.slug} enqueued")
    deadline = time.monotonic() + 60
    while run.status in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        run.refresh_from_db()
    assert (run.status, run.trigger, run.steps.count()) == ("succeeded", "manual", 6)
