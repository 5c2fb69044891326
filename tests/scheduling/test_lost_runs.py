"""Fault drills with a real worker process and a Redis the test starts, stops and restarts:
every run of a slot executes exactly once, and a worker that cannot reach the database does
not leave its run pending forever."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.analysis.models import LlmCall
from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.pipeline.tasks import dispatch_due_strategies, execute_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.celery_worker import tests_database_url as worker_db_url
from tests.factories import StrategyFactory, decision_answer
from tests.redis_server import RedisServer, broker_at
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
YEARLY = "0 0 1 1 *"  # its next slot is months away: the drill's slot never gets superseded
FINAL = ("succeeded", "failed", "abandoned", "skipped", "expired")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis without persistence on its own port, this process's Celery app pointed at it."""
    server = RedisServer(directory=tmp_path)
    server.start()
    with broker_at(server.url):
        yield server
    server.stop()


def beat_until_final(run_ids: list[int], *, timeout_s: float = 90) -> dict[str, int]:
    """Run beat's pass every half second until every run in ``run_ids`` is final; return the
    pass's counts summed. AssertionError with the statuses after ``timeout_s``."""
    totals = {"resent": 0, "expired": 0}
    deadline = time.monotonic() + timeout_s
    while True:
        statuses = dict(Run.objects.filter(pk__in=run_ids).values_list("pk", "status"))
        if all(status in FINAL for status in statuses.values()):
            return totals
        assert time.monotonic() < deadline, f"runs not final: {statuses}"
        time.sleep(0.5)
        outcome = dispatch_due_strategies()
        totals = {key: totals[key] + outcome[key] for key in totals}


def test_redis_stopped_right_after_a_dispatch_loses_no_run(
    goog: Symbol, redis_server: RedisServer, settings: Any
) -> None:
    # given six strategies due now and one worker taking two runs at a time
    settings.RUNS_PENDING_GRACE_S = 1.0
    for _ in range(6):
        StrategyFactory.create(
            symbol=goog,
            schedule_cron=YEARLY,
            schedule_timezone="UTC",
            next_run_at=timezone.now(),
        )
    with celery_worker(name="drill", broker_url=redis_server.url, concurrency=2):
        # when the slot is dispatched, and Redis (no persistence) is stopped right after and
        # started again: the messages still queued are gone
        assert dispatch_due_strategies()["claimed"] == 6
        redis_server.stop()
        time.sleep(1.0)
        redis_server.start()
        # then beat's pass sends the lost runs again, and every run executes exactly once
        run_ids = list(Run.objects.values_list("pk", flat=True))
        totals = beat_until_final(run_ids)
    assert totals["resent"] >= 1, "no message was lost: the drill proved nothing"
    assert totals["expired"] == 0
    assert sorted(Run.objects.values_list("status", flat=True)) == ["succeeded"] * 6
    for run in Run.objects.all():
        assert run.steps.count() == 6
    assert Signal.objects.count() == 6


def test_a_worker_that_cannot_reach_the_database_does_not_lose_the_run(
    goog: Symbol, redis_server: RedisServer, llm_server: Any, settings: Any
) -> None:
    # given a worker whose database is unreachable, retrying 4 times (0.3, 0.6, 1.2 s apart)
    settings.RUNS_PENDING_GRACE_S = 1.0
    db = connection.settings_dict
    proxy = TcpProxy(target=(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)))
    proxy.start()
    database_url = worker_db_url().replace(f":{db['PORT'] or 5432}/", f":{proxy.port}/", 1)
    retries = {"RUNS_DB_RETRY_ATTEMPTS": "4", "RUNS_DB_RETRY_INITIAL_S": "0.3"}
    strategy = StrategyFactory.create(symbol=goog)
    as_of = datetime(2012, 6, 1, tzinfo=UTC)
    try:
        with celery_worker(
            name="nodb",
            llm_base_url=llm_server.base_url,
            broker_url=redis_server.url,
            database_url=database_url,
            extra_env=retries,
        ):
            # when the database comes back while the worker is still retrying
            first = run_create(strategy_id=strategy.pk, as_of=as_of)
            result = execute_run.delay(first.pk)
            deadline = time.monotonic() + 30
            while proxy.refused == 0:
                assert time.monotonic() < deadline, "the worker never tried the database"
                time.sleep(0.05)
            proxy.open = True
            # then the worker executes the run
            assert result.get(timeout=60) == "succeeded"

            # when the database stays away longer than the worker retries
            proxy.cut()
            second = run_create(strategy_id=strategy.pk, as_of=as_of)
            failed = execute_run.delay(second.pk)
            failed.get(timeout=60, propagate=False)
            # then the task failed, but the run is not forgotten: still pending
            assert failed.state == "FAILURE"
            second.refresh_from_db()
            assert second.status == "pending"
            # and once the database is back, beat's pass sends it again and it executes once
            proxy.open = True
            totals = beat_until_final([second.pk])
            assert totals == {"resent": 1, "expired": 0}
            second.refresh_from_db()
            assert (second.status, second.enqueue_count) == ("succeeded", 1)
            assert second.steps.count() == 6 and first.steps.count() == 6

            # when the database drops while a claimed run waits 3 s on the model, and is back
            # while the worker retries recording the failure
            llm_server.delay_s = 3.0
            llm_server.answer_with(decision_answer())
            asked = len(llm_server.requests)
            third = run_create(
                strategy_id=StrategyFactory.create(symbol=goog, analyst="openai").pk, as_of=as_of
            )
            crashed = execute_run.delay(third.pk)
            deadline = time.monotonic() + 60
            # the cut comes once the model has the question (its answer is 3 s away), so the
            # call is made and paid for whatever the machine's speed
            while len(llm_server.requests) <= asked:
                third.refresh_from_db()
                assert time.monotonic() < deadline, f"the model was never asked: {third.status}"
                time.sleep(0.05)
            refused = proxy.refused
            proxy.cut()
            while proxy.refused == refused and not crashed.ready():
                assert time.monotonic() < deadline, "the worker neither retried nor ended"
                time.sleep(0.01)
            proxy.open = True
            # then the run ends failed with the error, at the step it was in: not running
            # until the reaper finds it
            assert crashed.get(timeout=60) == "failed"
    finally:
        proxy.stop()
    third.refresh_from_db()
    # named as a database outage in the step it was in, and the model call that was made and
    # paid for is recorded once the database is back
    assert third.error_message.startswith(
        "llm: DatabaseUnavailableError: database unavailable during step llm: "
    )
    assert LlmCall.objects.filter(run=third, completion_tokens__gt=0).count() == 1
    assert list(third.steps.values_list("name", "status")) == [
        ("data", "succeeded"),
        ("indicators", "succeeded"),
        ("charts", "succeeded"),
        ("llm", "failed"),
    ]
    assert not Signal.objects.filter(run=third).exists()
