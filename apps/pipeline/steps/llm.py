"""Step 4, llm: render the prompt, ask the analyst, keep prompt and raw answer as artifacts."""

from typing import Any

from apps.analysis.analysts import AnalysisRequest
from apps.analysis.context import build_prompt_context
from apps.analysis.decision import DecisionParseError
from apps.analysis.prompts import render_prompt
from apps.analysis.selection import analyst_for
from apps.lineage.services import StepRecorder
from apps.orders.selectors import position_for_symbol
from apps.pipeline.context import RunContext

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


def _risk(ctx: RunContext) -> dict[str, float]:
    s = ctx.strategy
    return {
        name: float(getattr(s, name))
        for name in (
            "capital",
            "risk_per_trade_pct",
            "max_position_quantity",
            "max_order_notional",
            "min_confidence",
            "min_reward_risk",
            "max_entry_deviation_pct",
        )
    }


def _prompt(ctx: RunContext) -> str:
    assert ctx.bars is not None
    symbol = ctx.strategy.symbol
    position = position_for_symbol(symbol_id=symbol.pk)
    context = build_prompt_context(
        symbol={
            "symbol": symbol.symbol,
            "sec_type": symbol.sec_type,
            "exchange": symbol.exchange,
            "currency": symbol.currency,
            "description": symbol.description,
        },
        bar_size=ctx.strategy.bar_size,
        as_of=ctx.run.as_of.isoformat(),
        bars=ctx.bars,
        indicators=ctx.latest_indicators,
        position={key: float(value) for key, value in position.items()},
        risk=_risk(ctx),
    )
    return render_prompt(ctx.strategy.prompt_template.body, context)


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Raises PromptRenderError, AnalystError or DecisionParseError (raw answer kept)."""
    assert ctx.bars is not None and ctx.chart is not None
    ctx.prompt = _prompt(ctx)
    recorder.add_artifact(
        kind="prompt", filename="prompt.txt", content=ctx.prompt.encode(), content_type="text/plain"
    )
    analyst, note = analyst_for(analyst_kind=ctx.strategy.analyst)
    recorder.output = {"analyst": analyst.name, "note": note}
    request = AnalysisRequest(
        prompt=ctx.prompt,
        chart_png=ctx.chart.png,
        bars=ctx.bars,
        model=ctx.strategy.llm_model,
        temperature=ctx.strategy.llm_temperature,
        max_tokens=ctx.strategy.llm_max_tokens,
    )
    try:
        answer = analyst.analyze(request)
    except DecisionParseError as error:
        recorder.add_artifact(
            kind="raw_answer",
            filename="answer.txt",
            content=error.raw_answer.encode(),
            content_type="text/plain",
        )
        raise
    ctx.answer = answer
    recorder.add_artifact(
        kind="raw_answer",
        filename="answer.txt",
        content=answer.raw_answer.encode(),
        content_type="text/plain",
    )
    recorder.output = {
        "analyst": answer.analyst,
        "model": answer.model,
        "note": note,
        "is_language_model": answer.is_language_model,
        "latency_ms": round(answer.latency_ms, 3),
        "usage": answer.usage,
        "decision": answer.decision.model_dump(),
    }
