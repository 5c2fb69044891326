"""End to end against a real language model on loopback: SmolLM2-135M-Instruct served by
llama-cpp-python's OpenAI-compatible server (built by `make test` into .venv-llm)."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apps.analysis import llm_client
from apps.analysis.local_server import LocalModelServer
from apps.analysis.models import LlmCall
from apps.pipeline.executor import strategy_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
LOCAL_PYTHON = os.environ.get("SIBYL_LOCAL_LLM_PYTHON", "")


@pytest.fixture(scope="module")
def local_model_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local model server, ready only once it answered a chat completion; a server that
    dies fails the test with its log's tail, not a bare connection error."""
    if not LOCAL_PYTHON or not Path(LOCAL_PYTHON).exists():
        pytest.skip("SIBYL_LOCAL_LLM_PYTHON is not set: run through `make test`, which builds it")
    log = tmp_path_factory.mktemp("local-model") / "server.log"
    server = LocalModelServer(python=Path(LOCAL_PYTHON), log_path=log)
    server.start()
    try:
        server.wait_ready()
        yield server.base_url
        assert server.alive(), server.failure("the local model server died during the test")
    finally:
        server.stop()


def test_a_strategy_runs_end_to_end_on_the_real_local_model(
    goog: Symbol, local_model_url: str, settings: Any
) -> None:
    settings.LLM_BASE_URL = local_model_url
    settings.LLM_MODEL = "smollm2"
    settings.LLM_TEXT_ONLY_MODELS = ["smollm2"]
    llm_client._negotiated.clear()
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    run = strategy_run(
        strategy=strategy, as_of=datetime(2012, 5, 31, 20, 30, tzinfo=UTC), trigger="manual"
    )
    assert run.status == "succeeded", run.error_message
    llm = run.steps.get(name="llm")
    # llama.cpp's server refuses json_schema; the schema goes as json_object instead
    assert (llm.output["response_format"], llm.output["is_language_model"]) == ("json_object", True)
    raw = llm.artifacts.get(kind="raw_answer").file.read().decode()
    assert raw.strip().startswith("{")
    signal = Signal.objects.get(run=run)
    assert signal.status == "accepted" or signal.rejection_reasons
    call = LlmCall.objects.get(run=run)
    assert call.succeeded and call.prompt_tokens > 0 and call.completion_tokens > 0
