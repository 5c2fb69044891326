"""Appending steps to a run after it finished (``step_append``) against real PostgreSQL:
concurrent appends to one run are each recorded, with consecutive sequences."""

import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from apps.lineage import services
from apps.lineage.models import Run, Step
from apps.lineage.services import run_create, step_append
from tests.db_locks import release_once_someone_waits
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db(transaction=True)


def a_finished_run() -> Run:
    run = run_create(strategy_id=StrategyFactory.create().pk, as_of=timezone.now())
    Run.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())
    return run


def test_two_threads_appending_to_one_run_both_record_their_steps() -> None:
    # given a finished run and two threads that append steps to it at the same moment
    run = a_finished_run()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def appender(name: str) -> None:
        try:
            start.wait(10)
            for i in range(10):
                step_append(run=run, name=name, output={"i": i})
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=appender, args=(name,)) for name in ("monitor", "broker")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then no append raised and all twenty steps are there, numbered 1..20
    assert errors == []
    steps = list(run.steps.order_by("sequence").values_list("sequence", "name", "output"))
    assert [sequence for sequence, _, _ in steps] == list(range(1, 21))
    for name in ("monitor", "broker"):
        assert [out["i"] for _, n, out in steps if n == name] == list(range(10))


def test_an_append_waits_for_one_in_flight_and_takes_the_next_sequence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given appends get a single try (no retry on a duplicate sequence), and another process
    # that has appended step 1 to the run in a transaction it has not committed yet
    monkeypatch.setattr(services, "APPEND_TRIES", 1)
    run = a_finished_run()
    appended, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def other_process() -> None:
        try:
            with transaction.atomic():
                step_append(run=run, name="broker", output={})
                appended.set()
                release.wait(10)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    other = threading.Thread(target=other_process)
    other.start()
    assert appended.wait(10)

    # when this process appends meanwhile: it waits on the run's lock
    try:
        with release_once_someone_waits(release):
            step = step_append(run=run, name="monitor", output={"new_fills": 1})
    finally:
        other.join()
    # then both steps are recorded, the waiting one after the other, without a retry
    assert failures == []
    assert step.sequence == 2
    assert list(Step.objects.filter(run=run).values_list("sequence", "name")) == [
        (1, "broker"),
        (2, "monitor"),
    ]
