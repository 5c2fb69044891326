"""Step 4, llm: render the prompt, ask the analyst, keep prompt and raw answer as artifacts."""

from typing import Any

from django.conf import settings

from apps.analysis.analysts import AnalysisRequest, AnalystAnswer
from apps.analysis.decision import DecisionParseError
from apps.analysis.llm_client import LlmCallError, LlmResult
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
    answer: AnalystAnswer | LlmResult | None = None,
) -> None:
    """One ``LlmCall`` row: a failed call (no answer), an answer that failed to parse (an
    ``LlmResult``: its tokens, latency and cost were spent all the same) or an analyst's
    answer."""
    if isinstance(answer, LlmResult):
        prompt_tokens, completion_tokens = answer.prompt_tokens, answer.completion_tokens
        mode = answer.mode
    elif answer is not None:
        prompt_tokens = answer.usage.get("prompt_tokens", 0)
        completion_tokens = answer.usage.get("completion_tokens", 0)
        mode = answer.response_format
    else:
        prompt_tokens = completion_tokens = 0
    LlmCall.objects.create(
        run=ctx.run,
        strategy=ctx.strategy,
        model=answer.model if answer else model,
        response_format=mode,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=answer.latency_ms if answer else 0.0,
        attempts=answer.attempts if answer else attempts,
        cost_usd=answer.cost_usd if answer else 0,
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
    model = request.model or settings.LLM_MODEL
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
            _record_call(
                ctx,
                model=result.model,
                mode=result.mode,
                attempts=result.attempts,
                error=str(error),
                answer=result,
            )
        raise
    ctx.answer = answer
    _raw_answer(recorder, answer.raw_answer)
    if answer.is_language_model:
        _record_call(
            ctx, model=model, mode=answer.response_format, attempts=answer.attempts, answer=answer
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
