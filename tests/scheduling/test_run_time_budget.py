"""A run's time budget (issue 12, item 5): the ``runs`` worker's threads pool ignores Celery's
soft and hard time limits (a run with 5/8 s limits took 25.7 s and succeeded), so the executor
enforces ``RUN_TIME_BUDGET_S`` itself. A run past it fails with the budget named on the step and
the run, and no order is ever created or sent after it.

The stalls are real: a loopback model server that answers long after the budget, and a table
lock held by a second database connection while the signal step needs the table.
"""

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from django.db import connection, connections

from apps.analysis.models import LlmCall
from apps.common.deadlines import Deadline, RunTimeBudgetExceededError, deadline_scope
from apps.ibkr.pacing import HistoricalRequestKey, PacingLimiter
from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.marketdata.charts import png_renderer
from apps.orders.models import Order, PaperOrder
from apps.pipeline.executor import run_execute, strategy_run
from apps.pipeline.tasks import execute_run
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.factories import StrategyFactory, decision_answer
from tests.llm_server import Reply, ScriptedLlmServer

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)
STALL_S = 120.0  # the model answers long after any budget here
BUDGET_ERROR = "RunTimeBudgetExceededError"


@pytest.fixture(autouse=True)
def _warm_charts() -> None:
    """Chromium started before the run: its start is not what these tests time out on."""
    png_renderer()


@pytest.fixture
def stalled_model(llm_server: ScriptedLlmServer) -> ScriptedLlmServer:
    """The loopback model answers a sound BUY, but only after ``STALL_S`` seconds."""
    llm_server.answer_with(Reply(content=json.dumps(decision_answer()), delay_s=STALL_S))
    return llm_server


def openai_strategy(goog: Symbol, **fields: Any) -> Strategy:
    return StrategyFactory.create(symbol=goog, analyst="openai", llm_model="gpt-4o-mini", **fields)


def assert_failed_on_budget(run: Run, step: str, budget: str) -> None:
    """The run failed with the budget error, recorded on ``step`` and on the run."""
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error_message.startswith(
        f"{step}: {BUDGET_ERROR}: run time budget of {budget} s exceeded during {step} after "
    ), run.error_message
    assert "no order was sent" in run.error_message
    failed = run.steps.get(status="failed")
    assert (failed.name, failed.error_type) == (step, BUDGET_ERROR)
    assert failed.error_message.startswith(f"run time budget of {budget} s exceeded during {step}")
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def test_a_stalled_model_fails_the_run_on_its_budget_and_sends_no_order(
    goog: Symbol, stalled_model: ScriptedLlmServer, settings: Any
) -> None:
    # given a budget of 3 s, a model timeout of 60 s with 4 attempts, and a fallback model
    settings.RUN_TIME_BUDGET_S = 3.0
    settings.LLM_TIMEOUT_S = 60.0
    settings.LLM_MAX_ATTEMPTS = 4
    strategy = openai_strategy(goog, llm_fallback_model="gpt-4o")
    # when the model stalls far beyond the budget
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # then the run fails on its budget during the llm step: one request only (no retry and no
    # fallback model after the deadline), the failed call recorded, no signal and no order
    assert_failed_on_budget(run, "llm", "3")
    assert "LlmCallError" in run.error_message
    assert len(stalled_model.requests) == 1
    call = LlmCall.objects.get()
    assert not call.succeeded and call.attempts == 1
    assert "gpt-4o: run time budget of 3 s used up before a request to gpt-4o" in call.error
    assert list(run.steps.values_list("name", "status")) == [
        ("data", "succeeded"),
        ("indicators", "succeeded"),
        ("charts", "succeeded"),
        ("llm", "failed"),
    ]


def test_retries_stop_at_the_deadline(
    goog: Symbol, llm_server: ScriptedLlmServer, settings: Any
) -> None:
    # given a model that answers 503 with Retry-After: 30 s, and a budget of 3 s
    settings.RUN_TIME_BUDGET_S = 3.0
    settings.LLM_MAX_ATTEMPTS = 4
    llm_server.answer_with(Reply(status=503, headers={"Retry-After": "30"}))
    # when the strategy runs
    run = strategy_run(strategy=openai_strategy(goog), as_of=AS_OF, trigger="manual")
    # then the wait that would end past the deadline is not made: one attempt, a plain failure
    # of the llm step (the budget itself was not used up), and no order
    run.refresh_from_db()
    assert run.status == "failed" and run.error_message.startswith("llm: LlmCallError: ")
    assert len(llm_server.requests) == 1
    assert LlmCall.objects.get().attempts == 1
    assert not Order.objects.exists()


@pytest.fixture
def signals_locked() -> Iterator[threading.Event]:
    """Hold an exclusive lock on the signals table from a second connection until the yielded
    event is set: the signal step, which records the signal, waits on it (the steps before it
    never touch that table; the llm step does read orders and fills, for the position as of the
    run's as-of)."""
    release = threading.Event()
    locked = threading.Event()

    def hold() -> None:
        link = connections.create_connection("default")  # this thread's own connection
        try:
            with link.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("LOCK TABLE signals_signal IN ACCESS EXCLUSIVE MODE")
                locked.set()
                release.wait(timeout=120)
                cursor.execute("COMMIT")
        finally:
            link.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(timeout=30)
    try:
        yield release
    finally:
        release.set()
        holder.join(timeout=30)


def test_a_stall_in_the_signal_step_leaves_no_time_for_the_order(
    goog: Symbol, llm_server: ScriptedLlmServer, settings: Any, signals_locked: threading.Event
) -> None:
    # given a sound BUY answered at once, and a budget of 3 s
    settings.RUN_TIME_BUDGET_S = 3.0
    llm_server.answer_with(decision_answer())
    strategy = openai_strategy(goog)
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    outcome: list[Run] = []
    executor = threading.Thread(
        target=lambda: outcome.append(strategy_run_in_thread(run)), daemon=True
    )
    # when the signal step stalls on the locked signals table until the budget has run out
    executor.start()
    wait_for_step(run, "signal")
    time.sleep(settings.RUN_TIME_BUDGET_S + 0.5)  # setup, not an assertion: outlast the budget
    signals_locked.set()
    executor.join(timeout=60)
    # then the signal is recorded, but the run fails on its budget at the order step: no order
    assert outcome, "the executor did not finish"
    assert_failed_on_budget(run, "order", "3")
    assert list(run.steps.values_list("name", "status")) == [
        ("data", "succeeded"),
        ("indicators", "succeeded"),
        ("charts", "succeeded"),
        ("llm", "succeeded"),
        ("signal", "succeeded"),
        ("order", "failed"),
    ]
    assert Signal.objects.get(run=run).status == "accepted"


def strategy_run_in_thread(run: Run) -> Run:
    """Execute ``run`` in this (non-test) thread, on its own database connection."""
    try:
        return run_execute(run=run)
    finally:
        connection.close()


def wait_for_step(run: Run, step: str) -> None:
    """Poll until ``run`` reaches ``step`` (a minute at most)."""
    give_up = time.monotonic() + 60
    while run.current_step != step:
        assert time.monotonic() < give_up, f"run never reached {step}: {run.status}"
        time.sleep(0.05)
        run.refresh_from_db()


def test_a_pacing_wait_past_the_deadline_is_not_made() -> None:
    # given a limiter that would hold the next identical request back for 15 s
    key = HistoricalRequestKey("1", "SMART", "20120601 00:00:00 UTC", "1 Y", "1 day", "TRADES")
    slept: list[float] = []
    limiter = PacingLimiter(sleep=slept.append)
    limiter.acquire(key)
    # when a run with 2 s left asks again, then it fails at once instead of waiting
    with deadline_scope(Deadline.start(2.0)), pytest.raises(RunTimeBudgetExceededError) as error:
        limiter.acquire(key)
    assert "would run out during a" in str(error.value) and slept == []


@pytest.mark.slow
def test_the_threads_pool_worker_enforces_the_budget(
    goog: Symbol, stalled_model: ScriptedLlmServer, runs_queue: redis.Redis
) -> None:
    # given the runs worker as deployed (threads pool), with a run time budget of 10 s
    with celery_worker(
        name="budget",
        llm_base_url=stalled_model.base_url,
        extra_env={"RUN_TIME_BUDGET_S": "10", "SIBYL_WARM_CHARTS": "1"},
    ):
        run = run_create(strategy_id=openai_strategy(goog).pk, as_of=AS_OF)
        # when its model stalls far past the budget
        execute_run.delay(run.pk)
        give_up = time.monotonic() + 90
        while run.status in ("pending", "running"):
            assert time.monotonic() < give_up, f"run still {run.status} at {run.current_step}"
            time.sleep(0.2)
            run.refresh_from_db()
    # then the worker failed it on its budget during the llm step, and sent no order
    assert_failed_on_budget(run, "llm", "10")
    assert len(stalled_model.requests) == 1
