"""Starting and resuming backtests when the task queue (Redis) is away, and resuming a
cancelled backtest from the command line: a backtest is never left ``running`` with no task
sent, and no slot runs twice."""

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.services import backtest_cancel, backtest_create, backtest_run
from apps.evaluation.tasks import backtest_resume, backtest_start
from apps.lineage.models import Run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.conftest import token_client
from tests.factories import StrategyFactory, UserFactory
from tests.redis_server import RedisServer, broker_at

pytestmark = pytest.mark.django_db

BACKTESTS = "/api/v1/backtests/"


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="bt-queue")


@pytest.fixture
def strategy(goog: Symbol, owner: User) -> Strategy:
    """A baseline strategy on GOOG, weekdays at 22:00 UTC (5 slots in the week of 2012-03-05)."""
    return StrategyFactory.create(
        symbol=goog,
        owner=owner,
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )


def _backtest(strategy: Strategy) -> Backtest:
    return backtest_create(
        strategy=strategy,
        start=datetime(2012, 3, 5, tzinfo=UTC),
        end=datetime(2012, 3, 9, 23, 59, tzinfo=UTC),
    )


def test_create_while_the_queue_is_down_is_a_503_and_creates_nothing(
    strategy: Strategy, owner: User, tmp_path: Path
) -> None:
    api: APIClient = token_client(owner)
    body = {"strategy": strategy.slug, "start": "2012-03-05", "end": "2012-03-09"}
    with broker_at(RedisServer(directory=tmp_path).url):  # never started: nothing listens
        answer = api.post(BACKTESTS, body, format="json")

    assert answer.status_code == 503, answer.content
    assert answer.json()["code"] == "TaskQueueUnavailableError"
    assert "task queue is unreachable" in answer.json()["detail"]
    assert not Backtest.objects.exists()


def test_resume_while_the_queue_is_down_is_a_503_and_changes_nothing(
    strategy: Strategy, owner: User, tmp_path: Path
) -> None:
    backtest = _backtest(strategy)
    backtest_run(backtest, max_slots=2)
    backtest_cancel(backtest=backtest)
    api = token_client(owner)
    with broker_at(RedisServer(directory=tmp_path).url):
        answer = api.post(f"{BACKTESTS}{backtest.pk}/resume/", {}, format="json")

    assert answer.status_code == 503, answer.content
    backtest.refresh_from_db()
    assert backtest.status == BacktestStatus.CANCELLED


def test_a_queue_lost_between_the_check_and_the_send_fails_the_backtest_which_resumes(
    strategy: Strategy, tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    backtest = _backtest(strategy)
    server = RedisServer(directory=tmp_path)
    server.start()
    try:
        with broker_at(server.url):
            with django_capture_on_commit_callbacks() as sends:
                assert backtest_start(backtest) == 1  # the broker answered the check
            server.stop()  # … and is gone when the transaction commits
            for send in sends:
                send()
            backtest.refresh_from_db()
            # not left running with no task sent: failed, with the reason and what to do
            assert backtest.status == BacktestStatus.FAILED
            assert "task queue was unreachable" in backtest.error
            assert "resume" in backtest.error

            server.start()
            with django_capture_on_commit_callbacks(execute=True):
                assert backtest_resume(backtest) == 1
            client = redis.Redis(port=server.port)
            assert client.llen("runs") == 1
            client.close()
    finally:
        server.stop()
    backtest.refresh_from_db()
    assert (backtest.status, backtest.error) == (BacktestStatus.RUNNING, "")


def test_the_command_resumes_a_cancelled_backtest_without_any_slot_twice(
    strategy: Strategy,
) -> None:
    backtest = _backtest(strategy)
    backtest_run(backtest, max_slots=2)
    backtest_cancel(backtest=backtest)

    call_command("backtest", "--resume", str(backtest.pk), stdout=StringIO())

    backtest.refresh_from_db()
    assert backtest.status == BacktestStatus.DONE
    variant = backtest.variants.get(reference=False)
    assert variant.slots_done == 5
    scheduled = list(Run.objects.filter(strategy=variant.clone).values_list("scheduled_for"))
    assert len(scheduled) == len(set(scheduled)) == 5
