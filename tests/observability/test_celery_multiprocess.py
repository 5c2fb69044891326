"""Runs executed by a real Celery worker (its own process, its own multiprocess directory)
show in the web process's ``/metrics``: counts and schedule lag come from the worker's files."""

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from django.test import Client
from django.utils import timezone

from apps.lineage.models import Run
from apps.pipeline.tasks import dispatch_due_strategies
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.factories import StrategyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
YEARLY = "0 0 1 1 *"


def test_a_celery_workers_runs_are_counted_by_the_web_scrape(
    goog: Symbol, runs_queue: redis.Redis, settings: Any, tmp_path: Path
) -> None:
    # given three strategies due now and a runs worker writing its metrics under the root
    for _ in range(3):
        StrategyFactory.create(
            symbol=goog, schedule_cron=YEARLY, schedule_timezone="UTC", next_run_at=timezone.now()
        )
    root = tmp_path / "metrics"
    (root / "runs").mkdir(parents=True)
    settings.METRICS_MULTIPROC_ROOT = str(root)
    with celery_worker(name="metrics", extra_env={"PROMETHEUS_MULTIPROC_DIR": str(root / "runs")}):
        # when beat's pass dispatches them and the worker runs them
        assert dispatch_due_strategies()["claimed"] == 3
        deadline = time.monotonic() + 120
        while set(Run.objects.values_list("status", flat=True)) != {"succeeded"}:
            assert time.monotonic() < deadline, list(Run.objects.values_list("status", flat=True))
            time.sleep(0.5)
    # then the web process's scrape holds what the worker counted (this process counts
    # nothing in files: it has no PROMETHEUS_MULTIPROC_DIR)
    body = Client(HTTP_HOST="localhost").get("/metrics", REMOTE_ADDR="127.0.0.1").content
    text = body.decode()
    assert 'sibyl_runs_total{status="succeeded",trigger="schedule"} 3.0' in text
    assert "sibyl_schedule_lag_seconds_count 3.0" in text
    assert 'sibyl_step_duration_seconds_count{status="succeeded",step="data"} 3.0' in text
