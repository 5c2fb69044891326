"""Step 4, llm: render the prompt, ask the analyst, keep prompt and raw answer as artifacts.

Every language-model call is recorded as an ``LlmCall`` row (``apps.analysis.services.
llm_call_record``), failed or not, before the raw answer: a call is the costly thing to lose.

An evaluation run (trigger ``backtest`` or ``replay``) may answer from the LLM answer cache
(``apps.analysis.answer_cache``, mode from ``Run.llm_cache``); a live run never does. A hit is
an ``LlmCall`` row with ``cache="hit"``, the original call's tokens and cost and latency 0; the
step output records ``cache: {mode, key, hit}``.

An anonymised run (``Run.anonymise``, evaluation runs only) renders the prompt without ticker,
names or dates (``apps.analysis.anonymise``); the originals are recorded in the step output's
``anonymised`` only.
"""

from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.analysis.analysts import AnalysisRequest, AnalystAnswer
from apps.analysis.anonymise import anonymised_record, prompt_scrub
from apps.analysis.answer_cache import answer_cache_for, llm_cache_mode
from apps.analysis.budgets import llm_budget_check
from apps.analysis.decision import DecisionParseError
from apps.analysis.llm_client import LlmCacheMissError, LlmCallError, LlmResult
from apps.analysis.prompts import render_prompt
from apps.analysis.selection import analyst_for, text_only_models
from apps.analysis.services import llm_call_record
from apps.lineage.models import LlmCacheMode
from apps.lineage.services import StepRecorder
from apps.pipeline.context import RunContext
from apps.pipeline.prompting import prompt_context, symbol_context

NAME = "llm"


# Cache modes in which the llm step never sends a request (so no budget is spent).
FREE_CACHE_MODES = (LlmCacheMode.ONLY, LlmCacheMode.RECORDED)


def step_input(ctx: RunContext) -> dict[str, Any]:
    """Which template version and analyst settings the step uses, and the LLM answer cache
    mode in effect (``off`` for every live run)."""
    strategy = ctx.strategy
    return {
        "prompt_template": str(strategy.prompt_template),
        "analyst": strategy.analyst,
        "model": strategy.llm_model,
        "temperature": strategy.llm_temperature,
        "llm_cache": llm_cache_mode(run=ctx.run),
        "anonymise": ctx.run.anonymise,
    }


def _raw_answer(recorder: StepRecorder, text: str) -> None:
    recorder.add_artifact(
        kind="raw_answer", filename="answer.txt", content=text.encode(), content_type="text/plain"
    )


def _prompt_render(ctx: RunContext, recorder: StepRecorder) -> tuple[str, dict[str, Any]]:
    """Render the strategy's prompt into ``ctx.prompt`` and keep it as the ``prompt`` artifact;
    returns the chart's text summary and, for an anonymised run (``Run.anonymise``), the step
    output's ``anonymised`` record of the originals (else {}). An anonymised prompt has no
    ticker, name or date (``apps.analysis.anonymise``). Raises PromptRenderError."""
    assert ctx.bars is not None
    anonymise = ctx.run.anonymise
    context = prompt_context(
        strategy=ctx.strategy,
        as_of=ctx.run.as_of,
        bars=ctx.bars,
        indicators=ctx.latest_indicators,
        anonymise=anonymise,
    )
    ctx.prompt = render_prompt(ctx.strategy.prompt_template.body, context)
    record: dict[str, Any] = {}
    if anonymise:
        symbol = symbol_context(ctx.strategy)
        ctx.prompt = prompt_scrub(
            ctx.prompt,
            symbol=symbol["symbol"],
            description=symbol["description"],
            years=range(ctx.bars.ts[0].year, ctx.run.as_of.year + 1),
        )
        record = {
            "anonymised": anonymised_record(
                symbol=symbol, as_of=ctx.run.as_of, bar_times=list(ctx.bars.ts)
            )
        }
    recorder.add_artifact(
        kind="prompt", filename="prompt.txt", content=ctx.prompt.encode(), content_type="text/plain"
    )
    chart_summary: str = context["chart"]
    return chart_summary, record


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
        answer_cache=answer_cache_for(run=ctx.run),
    )


def _call_failed(ctx: RunContext, recorder: StepRecorder, error: LlmCallError) -> None:
    """Record a call whose every attempt failed: no answer, so no tokens or cost."""
    recorder.output.update(
        attempts=error.attempts,
        model=error.model,
        latency_ms=round(error.latency_ms, 3),
        attempt_log=error.attempt_log,
    )
    llm_call_record(
        run=ctx.run,
        strategy=ctx.strategy,
        model=error.model,
        mode=error.mode,
        attempts=error.attempts,
        latency_ms=error.latency_ms,
        attempt_log=error.attempt_log,
        unrecorded=ctx.unrecorded,
        error=str(error),
    )


def _answer_unparsed(ctx: RunContext, recorder: StepRecorder, error: DecisionParseError) -> None:
    """Record the call behind an answer that did not parse (its tokens and cost were spent all
    the same), then keep the raw answer or refusal."""
    result = error.llm_result
    if result is not None:
        recorder.output.update(_call_output(result))
        llm_call_record(
            run=ctx.run,
            strategy=ctx.strategy,
            model=result.model,
            mode=result.mode,
            attempts=result.attempts,
            latency_ms=result.latency_ms,
            attempt_log=result.attempt_log,
            unrecorded=ctx.unrecorded,
            finish_reason=result.finish_reason,
            error=str(error),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
            cache=_cache_label(result.cache),
        )
    _raw_answer(recorder, error.raw_answer)


def _answer_record(ctx: RunContext, answer: AnalystAnswer) -> None:
    """Record a language model's answered call (a rule-based analyst makes none)."""
    if not answer.is_language_model:
        return
    llm_call_record(
        run=ctx.run,
        strategy=ctx.strategy,
        model=answer.model,
        mode=answer.response_format,
        attempts=answer.attempts,
        latency_ms=answer.latency_ms,
        attempt_log=answer.attempt_log,
        unrecorded=ctx.unrecorded,
        finish_reason=answer.finish_reason,
        prompt_tokens=answer.usage.get("prompt_tokens", 0),
        completion_tokens=answer.usage.get("completion_tokens", 0),
        cost_usd=answer.cost_usd,
        cache=_cache_label(answer.cache),
    )


def _cache_label(cache: dict[str, Any]) -> str:
    """``hit``, ``miss`` or empty (no cache) for an LlmCall row, from a result's ``cache``."""
    if not cache:
        return ""
    return "hit" if cache.get("hit") else "miss"


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Raises PromptRenderError, LlmCallError, ModelRefusalError or DecisionParseError (raw
    answer or refusal kept as the ``raw_answer`` artifact).

    Raises LlmBudgetReachedError before any request when the call's estimate would take the
    strategy's or its owner's daily or monthly LLM budget past its limit (``budgets``; not in
    the answer cache's ``only`` and ``recorded`` modes, which never call a model).

    Language-model calls are recorded as LlmCall rows (tokens, cost, attempts, finish reason),
    failed or not, before the raw answer: a call is the costly thing to lose. In the answer
    cache's ``only`` mode a miss raises LlmCacheMissError: no request, no LlmCall row, the
    output's ``cache`` says ``hit: false``.
    """
    chart_summary, anonymised = _prompt_render(ctx, recorder)
    analyst, note = analyst_for(strategy=ctx.strategy)
    recorder.output = {"analyst": analyst.name, "note": note, **anonymised}
    if llm_cache_mode(run=ctx.run) not in FREE_CACHE_MODES:
        # Before any request: a reached budget fails the step, with no fallback spend.
        llm_budget_check(strategy=ctx.strategy, now=timezone.now())
    request = _request(ctx, chart_summary)
    try:
        answer = analyst.analyze(request)
    except LlmCacheMissError as error:
        mode = request.answer_cache.mode if request.answer_cache else ""
        recorder.output["cache"] = {"mode": mode, "key": error.key, "hit": False}
        raise
    except LlmCallError as error:
        _call_failed(ctx, recorder, error)
        raise
    except DecisionParseError as error:
        _answer_unparsed(ctx, recorder, error)
        raise
    ctx.answer = answer
    _answer_record(ctx, answer)
    _raw_answer(recorder, answer.raw_answer)
    recorder.output = _answer_output(answer, note=note, accepts_images=request.accepts_images)
    recorder.output.update(anonymised)


def _answer_output(answer: AnalystAnswer, *, note: str, accepts_images: bool) -> dict[str, Any]:
    """The step output of an answered call: analyst, model, time (ms), tokens, cost (USD),
    attempts and the decision."""
    return {
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
        "accepts_images": accepts_images,
        "reasoning_truncated": answer.reasoning_truncated,
        "cache": answer.cache,
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
        "cache": result.cache,
    }
