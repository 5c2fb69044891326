"""The llm step against a loopback OpenAI-compatible server: formats, retries, fallback,
accounting, and the API key kept out of every record."""

import logging
from decimal import Decimal
from typing import Any

import pytest

from apps.analysis.models import LlmCall
from apps.lineage.models import Run, Step
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.analysis.runs import llm_step, run_strategy
from tests.factories import decision_answer
from tests.llm_server import Reply, ScriptedLlmServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_retries")]
SECRET = "sk-test-secret-key-123"
DECISION = decision_answer()


def test_json_schema_is_used_where_supported(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(DECISION)
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    request = llm_server.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["response_format"]["json_schema"]["schema"]["required"]
    assert llm_step(run).output["response_format"] == "json_schema"


def test_a_server_refusing_json_schema_gets_json_object_with_the_schema(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.refuse_formats = {"json_schema"}  # as llama.cpp's server does
    llm_server.answer_with(DECISION)
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    formats = [r["response_format"]["type"] for r in llm_server.requests]
    assert formats == ["json_schema", "json_object"]
    assert "properties" in llm_server.requests[1]["response_format"]["schema"]
    assert llm_step(run).output["response_format"] == "json_object"
    # the negotiated format is remembered for the endpoint and model
    run_strategy(goog)
    assert llm_server.requests[2]["response_format"]["type"] == "json_object"


def test_a_server_refusing_both_formats_gets_plain_text(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.refuse_formats = {"json_schema", "json_object"}
    llm_server.answer_with("```json\n" + str(DECISION).replace("'", '"') + "\n```")
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    assert "response_format" not in llm_server.requests[-1]
    assert llm_step(run).output["response_format"] == "text"


def test_the_chart_goes_as_an_image_or_as_text(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(DECISION)
    run_strategy(goog)
    image_part = llm_server.requests[0]["messages"][1]["content"][1]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,iVBOR")
    run_strategy(goog, llm_accepts_images=False)
    text_only = llm_server.requests[1]["messages"][1]["content"]
    assert isinstance(text_only, str)
    assert "Chart (text summary): GOOG: 200 bars" in text_only


def test_429_is_retried_after_the_retry_after_delay(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(Reply(429, "slow down", {"Retry-After": "1"}), DECISION)
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    assert len(llm_server.requests) == 2
    assert llm_server.arrivals[1] - llm_server.arrivals[0] >= 0.95
    assert llm_step(run).output["attempts"] == 2


def test_500_is_retried_with_backoff(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(Reply(500), Reply(502), DECISION)
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    assert len(llm_server.requests) == 3
    assert LlmCall.objects.get().attempts == 3


def test_a_timeout_is_retried(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(Reply(delay_s=1.5, content="{}"), DECISION)
    run = run_strategy(goog, llm_timeout_s=0.5)
    assert run.status == "succeeded", run.error_message
    assert llm_step(run).output["attempts"] == 2


def test_a_400_is_not_retried(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(Reply(401, "invalid api key provided"), DECISION)
    run = run_strategy(goog)
    assert run.status == "failed"
    assert len(llm_server.requests) == 1
    step = llm_step(run)
    assert (step.status, step.error_type) == ("failed", "LlmCallError")
    assert "HTTP 401" in step.error_message and "invalid api key provided" in step.error_message
    assert not run.orders.exists()


def test_the_fallback_model_answers_when_the_main_one_is_exhausted(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(Reply(503), Reply(503), Reply(503), DECISION)
    run = run_strategy(goog, llm_model="big-model", llm_fallback_model="small-model")
    assert run.status == "succeeded", run.error_message
    assert [r["model"] for r in llm_server.requests] == ["big-model"] * 3 + ["small-model"]
    call = LlmCall.objects.get()
    assert (call.model, call.attempts, call.succeeded) == ("small-model", 4, True)


def test_when_everything_fails_the_step_fails_with_the_provider_text(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(Reply(503, "upstream overloaded"))
    run = run_strategy(goog, llm_fallback_model="small-model")
    assert run.status == "failed"
    step = llm_step(run)
    assert "upstream overloaded" in step.error_message and "small-model" in step.error_message
    assert not Signal.objects.filter(run=run).exists()
    call = LlmCall.objects.get()
    assert (call.succeeded, call.attempts) == (False, 6)


@pytest.mark.parametrize("answer", ['{"action": "BUY", "confidence": 0.8, "entry": 5', ""])
def test_a_truncated_or_empty_answer_fails_cleanly(
    goog: Symbol, llm_server: ScriptedLlmServer, answer: str
) -> None:
    llm_server.answer_with(answer)
    run = run_strategy(goog)
    assert run.status == "failed"
    assert llm_step(run).error_type == "DecisionParseError"
    assert not run.orders.exists()
    # the call was paid for: its tokens, latency and cost are recorded with the failure
    call = LlmCall.objects.get(run=run)
    assert (call.succeeded, call.prompt_tokens, call.completion_tokens) == (False, 120, 40)
    assert call.latency_ms > 0 and call.attempts == 1


def test_tokens_and_cost_are_recorded_and_summed(
    goog: Symbol, llm_server: ScriptedLlmServer, settings: Any
) -> None:
    settings.LLM_PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.60}}
    llm_server.usage = {"prompt_tokens": 1000, "completion_tokens": 500}
    llm_server.answer_with(DECISION)
    run = run_strategy(goog, llm_model="gpt-4o-mini")
    output = llm_step(run).output
    # 1000 × 0.15 / 1e6 + 500 × 0.60 / 1e6 = 0.00015 + 0.0003 = 0.00045 USD
    assert output["cost_usd"] == "0.000450"
    assert output["usage"] == {"prompt_tokens": 1000, "completion_tokens": 500}
    call = LlmCall.objects.get()
    assert (call.prompt_tokens, call.completion_tokens, call.cost_usd) == (
        1000,
        500,
        Decimal("0.000450"),
    )


def test_the_api_key_is_in_no_lineage_row_or_log_line(
    goog: Symbol, llm_server: ScriptedLlmServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    llm_server.answer_with(Reply(401, f"bad key {SECRET}"), DECISION)
    run_strategy(goog)
    llm_server.answer_with(DECISION)
    run_strategy(goog)
    sent = {name.lower(): value for name, value in llm_server.headers[0].items()}
    assert sent["authorization"] == f"Bearer {SECRET}"
    stored = [str(v) for v in Step.objects.values_list("input", "output", "error_message")]
    stored += [str(v) for v in LlmCall.objects.values_list("error", "model")]
    stored += [str(v) for v in Run.objects.values_list("error_message", flat=True)]
    assert not any(SECRET in text for text in stored)
    assert "[redacted]" in Step.objects.get(name="llm", status="failed").error_message
    assert SECRET not in caplog.text


def test_cost_is_found_for_a_dated_model_id(
    goog: Symbol, llm_server: ScriptedLlmServer, settings: Any
) -> None:
    settings.LLM_PRICES = {"gpt-4o-mini": {"input": 0.15, "output": 0.60}}
    llm_server.reported_model = "gpt-4o-mini-2024-07-18"
    llm_server.usage = {"prompt_tokens": 1000, "completion_tokens": 500}
    llm_server.answer_with(DECISION)
    run_strategy(goog, llm_model="gpt-4o-mini")
    call = LlmCall.objects.get()
    assert (call.model, call.cost_usd) == ("gpt-4o-mini-2024-07-18", Decimal("0.000450"))
