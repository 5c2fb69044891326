"""Step 4, llm: render the prompt, ask the analyst, keep prompt and raw answer as artifacts."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError

from apps.analysis.analysts import AnalysisRequest
from apps.analysis.decision import DecisionParseError
from apps.analysis.llm_client import LlmCallError, LlmResult
from apps.analysis.models import LlmCall
from apps.analysis.prompts import render_prompt
from apps.analysis.selection import analyst_for, text_only_models
from apps.lineage.services import StepRecorder
from apps.pipeline.context import RunContext
from apps.pipeline.prompting import prompt_context

NAME = "llm"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """Which template version and analyst settings the step uses."""
    strategy = ctx.strategy
    return {
        "prompt_template": str(strategy.prompt_template),
        "analyst": strategy.analyst,
        "model": strategy.llm_model,
        "temperature": strategy.llm_temperature,
    }


def _record_call(
    ctx: RunContext,
    *,
    model: str,
    mode: str,
    attempts: int,
    latency_ms: float,
    attempt_log: list[dict[str, Any]],
    finish_reason: str = "",
    error: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost_usd: Decimal = Decimal(0),
) -> None:
    """One ``LlmCall`` row of the run: the model and response format used, attempts with their
    log, the whole call's latency (ms), tokens as the endpoint reported them, its finish reason,
    estimated cost (USD), and the error when it failed. A call that failed outright has no
    tokens or cost to record.

    Raises the database's error when the row cannot be saved because the connection went away;
    the row is then left in ``ctx.unrecorded`` for the executor to save once it is back.
    """
    call = LlmCall(
        run=ctx.run,
        strategy=ctx.strategy,
        model=model,
        response_format=mode,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        attempts=attempts,
        attempt_log=attempt_log,
        finish_reason=finish_reason,
        cost_usd=cost_usd,
        succeeded=not error,
        error=error,
    )
    try:
        call.save()
    except (OperationalError, InterfaceError):
        ctx.unrecorded.append(call)  # made and paid for: recorded once the database is back
        raise


def _raw_answer(recorder: StepRecorder, text: str) -> None:
    recorder.add_artifact(
        kind="raw_answer", filename="answer.txt", content=text.encode(), content_type="text/plain"
    )


def _request(ctx: RunContext, chart_summary: str) -> AnalysisRequest:
    assert ctx.bars is not None and ctx.chart is not None
    s = ctx.strategy
    model = s.llm_model or settings.LLM_MODEL
    images = s.llm_accepts_images and model not in text_only_models(strategy=s)
    return AnalysisRequest(
        prompt=ctx.prompt,
        chart_png=ctx.chart.png,
        bars=ctx.bars,
        chart_summary=chart_summary,
        model=s.llm_model,
        temperature=s.llm_temperature,
        max_tokens=s.llm_max_tokens,
        accepts_images=images,
        response_format=s.llm_response_format,
        fallback_model=s.llm_fallback_model,
    )


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Raises PromptRenderError, LlmCallError, ModelRefusalError or DecisionParseError (raw
    answer or refusal kept as the ``raw_answer`` artifact).

    Language-model calls are recorded as LlmCall rows (tokens, cost, attempts, finish reason),
    failed or not, before the raw answer: a call is the costly thing to lose.
    """
    assert ctx.bars is not None
    context = prompt_context(
        strategy=ctx.strategy, as_of=ctx.run.as_of, bars=ctx.bars, indicators=ctx.latest_indicators
    )
    ctx.prompt = render_prompt(ctx.strategy.prompt_template.body, context)
    recorder.add_artifact(
        kind="prompt", filename="prompt.txt", content=ctx.prompt.encode(), content_type="text/plain"
    )
    analyst, note = analyst_for(strategy=ctx.strategy)
    recorder.output = {"analyst": analyst.name, "note": note}
    request = _request(ctx, context["chart"])
    try:
        answer = analyst.analyze(request)
    except LlmCallError as error:
        recorder.output.update(
            attempts=error.attempts,
            model=error.model,
            latency_ms=round(error.latency_ms, 3),
            attempt_log=error.attempt_log,
        )
        _record_call(
            ctx,
            model=error.model,
            mode=error.mode,
            attempts=error.attempts,
            latency_ms=error.latency_ms,
            attempt_log=error.attempt_log,
            error=str(error),
        )
        raise
    except DecisionParseError as error:
        result: LlmResult | None = getattr(error, "llm_result", None)
        if result is not None:
            # the answer did not parse, but its tokens and cost were spent all the same
            recorder.output.update(_call_output(result))
            _record_call(
                ctx,
                model=result.model,
                mode=result.mode,
                attempts=result.attempts,
                latency_ms=result.latency_ms,
                attempt_log=result.attempt_log,
                finish_reason=result.finish_reason,
                error=str(error),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cost_usd=result.cost_usd,
            )
        _raw_answer(recorder, error.raw_answer)
        raise
    ctx.answer = answer
    if answer.is_language_model:
        _record_call(
            ctx,
            model=answer.model,
            mode=answer.response_format,
            attempts=answer.attempts,
            latency_ms=answer.latency_ms,
            attempt_log=answer.attempt_log,
            finish_reason=answer.finish_reason,
            prompt_tokens=answer.usage.get("prompt_tokens", 0),
            completion_tokens=answer.usage.get("completion_tokens", 0),
            cost_usd=answer.cost_usd,
        )
    _raw_answer(recorder, answer.raw_answer)
    recorder.output = {
        "analyst": answer.analyst,
        "model": answer.model,
        "note": note,
        "is_language_model": answer.is_language_model,
        "latency_ms": round(answer.latency_ms, 3),
        "usage": answer.usage,
        "response_format": answer.response_format,
        "attempts": answer.attempts,
        "attempt_log": answer.attempt_log,
        "finish_reason": answer.finish_reason,
        "cost_usd": str(answer.cost_usd),
        "accepts_images": request.accepts_images,
        "reasoning_truncated": answer.reasoning_truncated,
        "decision": answer.decision.model_dump(),
    }


def _call_output(result: LlmResult) -> dict[str, Any]:
    """What a call whose answer failed adds to the step output (tokens and time were spent)."""
    return {
        "model": result.model,
        "latency_ms": round(result.latency_ms, 3),
        "usage": {
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
        },
        "response_format": result.mode,
        "attempts": result.attempts,
        "attempt_log": result.attempt_log,
        "finish_reason": result.finish_reason,
        "cost_usd": str(result.cost_usd),
    }
