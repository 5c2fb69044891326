"""Step 4, llm: render the prompt, ask the analyst, keep prompt and raw answer as artifacts."""

from decimal import Decimal
from typing import Any

from django.conf import settings

from apps.analysis.analysts import AnalysisRequest
from apps.analysis.decision import DecisionParseError
from apps.analysis.llm_client import LlmCallError
from apps.analysis.models import LlmCall
from apps.analysis.prompts import render_prompt
from apps.analysis.selection import analyst_for
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
    error: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    latency_ms: float = 0.0,
    cost_usd: Decimal = Decimal(0),
) -> None:
    """One ``LlmCall`` row of the run: the model and response format used, attempts, tokens as
    the endpoint reported them, latency (ms), estimated cost (USD), and the error when it
    failed. A call that failed outright has no tokens, latency or cost to record."""
    LlmCall.objects.create(
        run=ctx.run,
        strategy=ctx.strategy,
        model=model,
        response_format=mode,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        attempts=attempts,
        cost_usd=cost_usd,
        succeeded=not error,
        error=error,
    )


def _raw_answer(recorder: StepRecorder, text: str) -> None:
    recorder.add_artifact(
        kind="raw_answer", filename="answer.txt", content=text.encode(), content_type="text/plain"
    )


def _request(ctx: RunContext, chart_summary: str) -> AnalysisRequest:
    assert ctx.bars is not None and ctx.chart is not None
    s = ctx.strategy
    model = s.llm_model or settings.LLM_MODEL
    images = s.llm_accepts_images and model not in settings.LLM_TEXT_ONLY_MODELS
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
    """Raises PromptRenderError, LlmCallError or DecisionParseError (raw answer kept).

    Language-model calls are recorded as LlmCall rows (tokens, cost, attempts), failed or not.
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
        _record_call(
            ctx, model=error.model, mode=error.mode, attempts=error.attempts, error=str(error)
        )
        recorder.output.update(attempts=error.attempts, model=error.model)
        raise
    except DecisionParseError as error:
        _raw_answer(recorder, error.raw_answer)
        result = getattr(error, "llm_result", None)
        if result is not None:
            # the answer did not parse, but its tokens and cost were spent all the same
            _record_call(
                ctx,
                model=result.model,
                mode=result.mode,
                attempts=result.attempts,
                error=str(error),
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms,
                cost_usd=result.cost_usd,
            )
        raise
    ctx.answer = answer
    _raw_answer(recorder, answer.raw_answer)
    if answer.is_language_model:
        _record_call(
            ctx,
            model=answer.model,
            mode=answer.response_format,
            attempts=answer.attempts,
            prompt_tokens=answer.usage.get("prompt_tokens", 0),
            completion_tokens=answer.usage.get("completion_tokens", 0),
            latency_ms=answer.latency_ms,
            cost_usd=answer.cost_usd,
        )
    recorder.output = {
        "analyst": answer.analyst,
        "model": answer.model,
        "note": note,
        "is_language_model": answer.is_language_model,
        "latency_ms": round(answer.latency_ms, 3),
        "usage": answer.usage,
        "response_format": answer.response_format,
        "attempts": answer.attempts,
        "cost_usd": str(answer.cost_usd),
        "accepts_images": request.accepts_images,
        "decision": answer.decision.model_dump(),
    }
