"""The reaper (``runs_mark_abandoned``) against real PostgreSQL: it marks a run only while the
run is still running with a stale heartbeat, judged by the UPDATE itself."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.utils import timezone

from apps.lineage.models import Run
from apps.lineage.services import run_create, run_start, runs_mark_abandoned, step_record
from tests.db_locks import release_once_someone_waits
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def a_stale_running_run() -> Run:
    run = run_create(strategy_id=StrategyFactory.create().pk, as_of=timezone.now())
    assert run_start(run=run)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    return run


def test_a_stale_run_is_abandoned_with_its_running_step_failed() -> None:
    # given a running run whose worker stopped beating during its llm step
    run = a_stale_running_run()
    with pytest.raises(RuntimeError), step_record(run=run, name="llm", sequence=1, step_input={}):
        Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        raise RuntimeError("recorded as failed; the run stays running")
    fresh = run_create(strategy_id=run.strategy_id, as_of=timezone.now())
    assert run_start(run=fresh)
    # when the reaper runs
    marked = runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    # then only the stale run is abandoned, naming the step it reached
    assert [(r.pk, r.status, r.error_message) for r in marked] == [
        (run.pk, "abandoned", "worker lost during step llm")
    ]
    fresh.refresh_from_db()
    assert fresh.status == "running"


def test_a_run_without_a_step_is_abandoned_as_none() -> None:
    run = a_stale_running_run()
    marked = runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    assert [r.error_message for r in marked] == ["worker lost during step (none)"]
    assert Run.objects.get(pk=run.pk).finished_at is not None


def test_a_heartbeat_committed_while_the_reaper_decides_keeps_the_run_running() -> None:
    # given a run the reaper reads as stale, while its worker is writing a fresh heartbeat in a
    # transaction that commits only after the reaper reached the run's row
    run = a_stale_running_run()
    beating, release = threading.Event(), threading.Event()

    def worker() -> None:
        try:
            with transaction.atomic():
                Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
                beating.set()
                release.wait(10)
        finally:
            connections.close_all()

    beat = threading.Thread(target=worker)
    beat.start()
    assert beating.wait(10)

    # when the reaper runs meanwhile
    try:
        with release_once_someone_waits(release):
            marked = runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    finally:
        beat.join()
    # then the run that beat is left running
    assert marked == []
    assert Run.objects.get(pk=run.pk).status == "running"
