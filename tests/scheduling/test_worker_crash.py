"""A worker killed mid-run (SIGKILL, a real Celery worker process): the run is marked abandoned
at the step it reached, never resumed, and no order is sent, even when the task comes back."""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from apps.lineage.services import run_create, runs_mark_abandoned
from apps.orders.models import Order, PaperOrder
from apps.pipeline.executor import run_execute
from apps.pipeline.tasks import execute_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.factories import StrategyFactory, decision_answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker_process(llm_server: Any) -> Iterator[subprocess.Popen[bytes]]:
    with celery_worker(name="crash", llm_base_url=llm_server.base_url) as process:
        yield process


def test_a_killed_worker_leaves_an_abandoned_run_and_no_order(
    goog: Symbol, llm_server: Any, worker_process: subprocess.Popen[bytes]
) -> None:
    # given a run whose model call takes 4 s, on a real worker process
    llm_server.delay_s = 4.0
    llm_server.answer_with(decision_answer())
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    run = run_create(strategy_id=strategy.pk, as_of=datetime(2012, 6, 1, tzinfo=UTC))
    execute_run.delay(run.pk)
    # when the worker is killed while the run waits on the model
    deadline = time.monotonic() + 60
    while run.current_step != "llm":
        assert time.monotonic() < deadline, f"run never reached llm: {run.status}"
        time.sleep(0.05)
        run.refresh_from_db()
    os.killpg(worker_process.pid, signal.SIGKILL)
    worker_process.wait(timeout=30)
    # then the reaper (after the hard time limit) marks it abandoned at that step
    time.sleep(0.5)
    runs_mark_abandoned(older_than=datetime.now(UTC) + timedelta(seconds=1))
    run.refresh_from_db()
    assert (run.status, run.error_message) == ("abandoned", "worker lost during step llm")
    # and the task coming back (acks_late redelivery) does not resume it or send an order
    execute_run.apply(args=(run.pk,))
    run.refresh_from_db()
    assert run.status == "abandoned"
    assert not Order.objects.exists() and not PaperOrder.objects.exists()
    assert list(run.steps.values_list("name", "status")) == [
        ("data", "succeeded"),
        ("indicators", "succeeded"),
        ("charts", "succeeded"),
        ("llm", "failed"),
    ]
    assert run.steps.get(name="llm").error_type == "WorkerLost"


def test_a_run_marked_abandoned_while_its_worker_lives_starts_no_further_step(
    goog: Symbol, llm_server: Any
) -> None:
    # given a run waiting 1.5 s on the model, and the reaper marking it abandoned meanwhile
    llm_server.delay_s = 1.5
    llm_server.answer_with(decision_answer())
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    run = run_create(strategy_id=strategy.pk, as_of=datetime(2012, 6, 1, tzinfo=UTC))

    def reap() -> None:
        time.sleep(0.8)
        runs_mark_abandoned(older_than=datetime.now(UTC) + timedelta(seconds=1))
        connection.close()

    reaper = threading.Thread(target=reap)
    reaper.start()
    # when the worker carries on after the model answers
    run_execute(run=run)
    reaper.join()
    # then it stops before the signal step: still abandoned, no signal, no order
    run.refresh_from_db()
    assert run.status == "abandoned"
    assert not run.steps.filter(name__in=["signal", "order"]).exists()
    assert not Signal.objects.filter(run=run).exists() and not Order.objects.exists()
