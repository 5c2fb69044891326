"""The database goes away while the model is answering (issue 11, item 12): the run is failed
with a named error once a fresh connection works, and the paid call is recorded — or, when the
database stays away past the bound, logged.

The outage is real: a second connection terminates the run's PostgreSQL backend while the
loopback model server is answering, and refuses new connections for a while
(``ALTER DATABASE … ALLOW_CONNECTIONS false``). Transactional tests, so the run's writes are
ordinary autocommit writes on a connection that can be closed and opened again.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from structlog.testing import capture_logs

from apps.analysis.models import LlmCall
from apps.lineage.models import Run
from apps.pipeline.executor import DatabaseUnavailableError, strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory, decision_answer
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _priced_model(settings: Any) -> None:
    settings.LLM_PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.60}}


@pytest.fixture
def strategy(goog: Symbol, llm_server: ScriptedLlmServer) -> Strategy:
    llm_server.delay_s = 1.0  # the database is cut while the model is answering
    llm_server.answer_with(decision_answer())
    return StrategyFactory.create(symbol=goog, analyst="openai", llm_model="gpt-4o-mini")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@contextmanager
def outage_while_answering(server: ScriptedLlmServer, *, refusing_s: float) -> Iterator[None]:
    """Once ``server`` receives the request, terminate this thread's database backend and refuse
    new connections to the test database for ``refusing_s`` seconds; waits for the end."""
    pid, name = backend_pid(), connection.settings_dict["NAME"]
    # a link of its own, to another database: a database cannot refuse its own sessions
    link = {**connection.settings_dict, "NAME": "postgres"}
    wrapper = type(connections["default"])
    failures: list[BaseException] = []

    def cut() -> None:
        killer = wrapper(link, "killer")
        try:
            while not server.requests:
                time.sleep(0.01)
            with killer.cursor() as cursor:
                cursor.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                try:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                    time.sleep(refusing_s)
                finally:
                    cursor.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        except BaseException as error:
            failures.append(error)
        finally:
            killer.close()

    thread = threading.Thread(target=cut)
    thread.start()
    try:
        yield
    finally:
        thread.join(timeout=60)
    assert not failures, failures


def test_the_run_fails_with_a_named_error_and_the_call_is_recorded(
    strategy: Strategy, llm_server: ScriptedLlmServer, settings: Any
) -> None:
    # given a database that refuses connections for 1.5 s after the cut, within the 20 s bound
    settings.RUN_DB_RECOVERY_S = 20.0
    pid_before = backend_pid()
    # when the run's connection is cut while the model answers
    with outage_while_answering(llm_server, refusing_s=1.5):
        run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # then the run is failed with the named error, recorded through a fresh connection
    assert backend_pid() != pid_before
    run = Run.objects.get(pk=run.pk)
    assert run.status == "failed"
    assert run.error_message.startswith(
        "llm: DatabaseUnavailableError: database unavailable during step llm: "
    ), run.error_message
    step = run.steps.get(name="llm")
    assert (step.status, step.error_type) == ("failed", "DatabaseUnavailableError")
    assert step.output["analyst"] == "openai"
    assert not run.steps.filter(name__in=["signal", "order"]).exists()
    # and the call that was made and paid for is recorded
    call = LlmCall.objects.get(run=run)
    assert (call.model, call.succeeded, call.prompt_tokens, call.completion_tokens) == (
        "gpt-4o-mini",
        True,
        120,
        40,
    )
    # 120 × 0.15 / 1e6 + 40 × 0.60 / 1e6 = 0.000018 + 0.000024
    assert call.cost_usd == Decimal("0.000042")


def test_past_the_bound_the_call_is_logged_and_the_error_raised(
    strategy: Strategy, llm_server: ScriptedLlmServer, settings: Any
) -> None:
    # given a database that stays away for 4 s while the bound is 1 s
    settings.RUN_DB_RECOVERY_S = 1.0
    with (
        outage_while_answering(llm_server, refusing_s=4.0),
        capture_logs() as logs,
        pytest.raises(DatabaseUnavailableError, match="during step llm"),
    ):
        strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # then the paid call is in the worker's log with its model, tokens and cost …
    lost = [entry for entry in logs if entry["event"] == "row_unrecorded"]
    assert len(lost) == 1
    assert lost[0]["table"] == "analysis.LlmCall"
    assert (lost[0]["model"], lost[0]["prompt_tokens"], lost[0]["completion_tokens"]) == (
        "gpt-4o-mini",
        120,
        40,
    )
    assert lost[0]["cost_usd"] == "0.000042"
    assert any(entry["event"] == "run_outcome_unrecorded" for entry in logs)
    # … and the database, back now, has neither the call nor an outcome (the reaper's job)
    assert not LlmCall.objects.exists()
    assert Run.objects.get().status == "running"
