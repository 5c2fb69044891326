"""No run is ever lost: beat's pass sends pending runs whose task never started again, or
expires them when they are too old to run; a failed send leaves runs pending, not lost."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection
from django.utils import timezone

from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.pipeline.tasks import dispatch_due_strategies, execute_run
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.strategies.schedule import latest_slot_at_or_before
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory
from tests.redis_server import RedisServer, broker_at, queued_run_ids

YEARLY = "0 0 1 1 *"  # its next slot is months away: a pending run of it is never superseded


def lost_run(strategy: Strategy, *, age: timedelta, scheduled_for: datetime | None = None) -> Run:
    """A pending run created ``age`` ago whose task never reached the queue."""
    trigger = "schedule" if scheduled_for else "manual"
    run = run_create(
        strategy_id=strategy.pk,
        trigger=trigger,
        as_of=scheduled_for or timezone.now(),
        scheduled_for=scheduled_for,
    )
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - age)
    return run


@pytest.mark.django_db
def test_a_lost_run_is_sent_again_once_its_grace_has_passed(runs_queue: redis.Redis) -> None:
    # given a manual run pending for 31 s, its message lost, and an empty runs queue
    run = lost_run(StrategyFactory.create(), age=timedelta(seconds=31))
    # when beat's pass runs
    outcome = dispatch_due_strategies()
    # then it is sent again, and marked as sent
    assert outcome == {"claimed": 0, "skipped": 0, "resent": 1, "expired": 0}
    assert queued_run_ids(runs_queue) == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.enqueue_count) == ("pending", 1)
    assert run.enqueued_at is not None and timezone.now() - run.enqueued_at < timedelta(seconds=5)
    # and the next pass, within the grace period of that send, leaves it alone
    assert dispatch_due_strategies()["resent"] == 0
    assert queued_run_ids(runs_queue) == [run.pk]


@pytest.mark.django_db
def test_a_run_within_its_grace_period_is_not_sent_again(runs_queue: redis.Redis) -> None:
    lost_run(StrategyFactory.create(), age=timedelta(seconds=20))
    assert dispatch_due_strategies()["resent"] == 0
    assert queued_run_ids(runs_queue) == []


@pytest.mark.django_db
def test_while_the_runs_queue_holds_a_backlog_nothing_is_sent_again(
    runs_queue: redis.Redis,
) -> None:
    # given a pending run past its grace, and another run's message still waiting in the queue
    strategy = StrategyFactory.create()
    waiting = run_create(strategy_id=strategy.pk, as_of=timezone.now())
    execute_run.delay(waiting.pk)
    old = lost_run(strategy, age=timedelta(minutes=2))
    # then the old run may be in that backlog too: it is not sent a second time
    assert dispatch_due_strategies()["resent"] == 0
    assert queued_run_ids(runs_queue) == [waiting.pk]
    old.refresh_from_db()
    assert (old.status, old.enqueue_count) == ("pending", 0)


@pytest.mark.django_db
def test_a_scheduled_run_whose_next_slot_has_come_expires(runs_queue: redis.Redis) -> None:
    # given a lost run of a once-a-minute strategy, for a slot three minutes ago
    strategy = StrategyFactory.create(schedule_cron="* * * * *", schedule_timezone="UTC")
    slot = latest_slot_at_or_before("* * * * *", "UTC", timezone.now()) - timedelta(minutes=3)
    run = lost_run(strategy, age=timedelta(minutes=3), scheduled_for=slot)
    # when beat's pass runs
    outcome = dispatch_due_strategies()
    # then the run is expired with the reason, not traded late, and nothing is sent
    assert (outcome["resent"], outcome["expired"]) == (0, 1)
    run.refresh_from_db()
    next_slot = (slot + timedelta(minutes=1)).isoformat()
    assert run.status == "expired" and run.finished_at is not None
    assert run.error_message == (
        f"not started before the next slot ({next_slot}): too old to trade; "
        "task sent 0 time(s), never started"
    )
    assert queued_run_ids(runs_queue) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("catch_up", "status"),
    [("latest", "pending"), ("none", "expired")],
)
def test_a_lost_slot_older_than_a_minute_runs_late_only_with_catch_up_latest(
    runs_queue: redis.Redis, catch_up: str, status: str
) -> None:
    strategy = StrategyFactory.create(
        schedule_cron=YEARLY, schedule_timezone="UTC", catch_up=catch_up
    )
    slot = latest_slot_at_or_before(YEARLY, "UTC", timezone.now())
    run = lost_run(strategy, age=timedelta(seconds=40), scheduled_for=slot)
    dispatch_due_strategies()
    run.refresh_from_db()
    assert run.status == status
    assert queued_run_ids(runs_queue) == ([run.pk] if status == "pending" else [])
    if status == "expired":
        assert run.error_message.startswith("missed slot (catch_up: none)")


@pytest.mark.django_db
def test_a_scheduled_run_of_a_deactivated_strategy_expires(runs_queue: redis.Redis) -> None:
    strategy = StrategyFactory.create(schedule_cron=YEARLY, schedule_timezone="UTC")
    slot = latest_slot_at_or_before(YEARLY, "UTC", timezone.now())
    run = lost_run(strategy, age=timedelta(seconds=40), scheduled_for=slot)
    Strategy.objects.filter(pk=strategy.pk).update(is_active=False)
    assert dispatch_due_strategies()["expired"] == 1
    run.refresh_from_db()
    assert run.status == "expired"
    assert run.error_message.startswith("strategy deactivated before the scheduled run started")


@pytest.mark.django_db
def test_a_manual_run_waiting_past_its_bound_expires_with_the_start_failure(
    runs_queue: redis.Redis,
) -> None:
    # given a manual run requested 16 minutes ago that a worker could not start
    run = lost_run(StrategyFactory.create(), age=timedelta(minutes=16))
    Run.objects.filter(pk=run.pk).update(
        error_message="OperationalError: connection refused", enqueue_count=3
    )
    # when beat's pass runs
    assert dispatch_due_strategies()["expired"] == 1
    # then it is expired, saying why and what the worker hit
    run.refresh_from_db()
    assert (run.status, run.error_message) == (
        "expired",
        "not started within 900 s of its request; task sent 3 time(s), never started; "
        "last start failure: OperationalError: connection refused",
    )
    assert queued_run_ids(runs_queue) == []


@pytest.mark.django_db(transaction=True)
def test_runs_dispatched_while_redis_is_down_stay_pending_and_are_sent_once_it_is_back(
    tmp_path: Path, settings: Any
) -> None:
    # given three due strategies and a Redis that is down
    settings.RUNS_PENDING_GRACE_S = 0
    server = RedisServer(directory=tmp_path)
    for _ in range(3):
        StrategyFactory.create(
            schedule_cron=YEARLY, schedule_timezone="UTC", next_run_at=timezone.now()
        )
    with broker_at(server.url):
        # when beat's pass dispatches them
        outcome = dispatch_due_strategies()
        # then the pass completes: the runs exist, pending, never sent
        assert (outcome["claimed"], outcome["resent"]) == (3, 0)
        assert sorted(Run.objects.values_list("status", "enqueue_count")) == [("pending", 0)] * 3
        # and once Redis is back the next pass sends each of them
        server.start()
        try:
            assert dispatch_due_strategies()["resent"] == 3
            client = redis.Redis(port=server.port)
            assert queued_run_ids(client) == sorted(Run.objects.values_list("pk", flat=True))
            client.close()
        finally:
            server.stop()
    assert list(Run.objects.values_list("enqueue_count", flat=True)) == [1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_one_run_at_once_execute_it_once(goog: Symbol) -> None:
    # given one pending run delivered to two workers at the same moment
    run = run_create(
        strategy_id=StrategyFactory.create(symbol=goog).pk,
        as_of=datetime(2012, 6, 1, tzinfo=UTC),
    )
    start = threading.Barrier(2)
    results: list[str] = []

    def deliver() -> None:
        start.wait()
        results.append(execute_run(run.pk))
        connection.close()

    workers = [threading.Thread(target=deliver) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # then one claimed and executed it, the other found it taken and did nothing
    run.refresh_from_db()
    assert run.status == "succeeded" and "succeeded" in results
    assert run.steps.count() == 6
    assert Signal.objects.filter(run=run).count() == 1


@pytest.mark.django_db
def test_a_task_for_a_run_that_no_longer_exists_does_nothing() -> None:
    assert execute_run(987654) == "missing"
