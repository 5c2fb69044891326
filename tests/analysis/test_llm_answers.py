"""What the llm step makes of awkward answers from a loopback OpenAI-compatible server:
refusals, answers cut at the token limit, NaN and Infinity, over-long reasoning, and the time
a call took over all its retries."""

import json

import pytest

from apps.analysis.models import LlmCall
from apps.lineage.models import Step
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.analysis.runs import llm_step, run_strategy
from tests.factories import decision_answer
from tests.llm_server import Reply, ScriptedLlmServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_retries")]
REFUSAL = "I'm sorry, but I can't help with trading decisions."


def raw_answer(step: Step) -> bytes:
    with step.artifacts.get(kind="raw_answer").file.open("rb") as handle:
        return bytes(handle.read())


def test_a_refusal_is_kept_in_the_raw_answer_and_the_error(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(Reply(refusal=REFUSAL))
    run = run_strategy(goog)
    assert run.status == "failed"
    step = llm_step(run)
    assert (step.error_type, step.error_message) == (
        "ModelRefusalError",
        f"the model refused: {REFUSAL}",
    )
    assert raw_answer(step) == REFUSAL.encode()
    call = LlmCall.objects.get(run=run)
    assert (call.succeeded, call.error, call.completion_tokens) == (
        False,
        f"the model refused: {REFUSAL}",
        40,
    )
    assert not Signal.objects.filter(run=run).exists()


def test_an_answer_cut_at_max_tokens_says_so(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(
        Reply(content='{"action": "BUY", "reasoning": "The trend is', finish_reason="length")
    )
    run = run_strategy(goog, llm_max_tokens=64)
    step = llm_step(run)
    assert step.error_type == "DecisionParseError"
    assert step.error_message.startswith(
        "the answer was cut off at the max_tokens limit (64 tokens): the answer is not valid JSON"
    ), step.error_message
    assert step.output["finish_reason"] == "length"
    assert LlmCall.objects.get(run=run).finish_reason == "length"


def test_the_finish_reason_of_every_call_is_recorded(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(decision_answer())
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    assert llm_step(run).output["finish_reason"] == "stop"
    assert LlmCall.objects.get(run=run).finish_reason == "stop"


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        (json.dumps(decision_answer(confidence=float("nan"))), "confidence"),  # a NaN token
        (json.dumps(decision_answer(confidence="NaN")), "confidence"),
        (json.dumps(decision_answer(entry=float("inf"))), "entry"),  # an Infinity token
        (json.dumps(decision_answer(stop_loss="-Infinity")), "stop_loss"),
    ],
)
def test_nan_and_infinity_are_not_numbers(
    goog: Symbol, llm_server: ScriptedLlmServer, answer: str, field: str
) -> None:
    llm_server.answer_with(answer)
    run = run_strategy(goog)
    assert run.status == "failed"
    step = llm_step(run)
    assert step.error_type == "DecisionParseError"
    assert f"{field}: not a number" in step.error_message, step.error_message
    assert "less than or equal" not in step.error_message
    assert not Signal.objects.filter(run=run).exists()


def test_a_trade_with_too_long_reasoning_is_kept_with_the_reasoning_cut(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    point = "Point {}: price holds above the rising 50-day average. "
    reasoning = "".join(point.format(n) for n in range(20))
    assert len(reasoning) > 600
    llm_server.answer_with(decision_answer(reasoning=reasoning))
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    output = llm_step(run).output
    assert output["reasoning_truncated"] is True
    assert output["decision"]["reasoning"] == reasoning[:600]
    assert Signal.objects.get(run=run).reasoning == reasoning[:600]


def test_reasoning_within_the_limit_is_not_marked_truncated(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(decision_answer(reasoning="x" * 600))
    run = run_strategy(goog)
    assert llm_step(run).output["reasoning_truncated"] is False


def test_latency_covers_every_attempt_and_wait(goog: Symbol, llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(
        Reply(429, "slow down", {"Retry-After": "1"}), Reply(502), decision_answer()
    )
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    call = LlmCall.objects.get(run=run)
    # the Retry-After wait alone is one second
    assert call.latency_ms >= 1000.0
    assert [(a["attempt"], a["status"]) for a in call.attempt_log] == [(1, 429), (2, 502), (3, 200)]
    assert "slow down" in call.attempt_log[0]["error"] and "error" not in call.attempt_log[2]
    assert all(a["duration_ms"] > 0 for a in call.attempt_log)
    assert sum(a["duration_ms"] for a in call.attempt_log) < call.latency_ms
    output = llm_step(run).output
    assert output["latency_ms"] == pytest.approx(call.latency_ms, abs=0.001)
    assert output["attempt_log"] == call.attempt_log


def test_a_failed_call_records_its_attempts_and_time(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(Reply(delay_s=1.0, content="{}"))
    run = run_strategy(goog, llm_timeout_s=0.3)
    assert run.status == "failed"
    call = LlmCall.objects.get(run=run)
    assert call.attempts == 3 and len(call.attempt_log) == 3
    assert all(a["error"].startswith("APITimeoutError") for a in call.attempt_log)
    assert all("status" not in a for a in call.attempt_log)
    assert call.latency_ms >= 3 * 300.0
