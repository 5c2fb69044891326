"""Step 2, indicators: the strategy's TA-Lib functions over the bars; lineage keeps the latest."""

from typing import Any

from apps.lineage.services import StepRecorder
from apps.marketdata.indicators import compute_indicators, latest_values, parse_indicator_specs
from apps.pipeline.context import RunContext

NAME = "indicators"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """The strategy's indicator spec as configured."""
    return {"indicators": ctx.strategy.indicators}


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Compute every indicator (or take those a backtest prefetched for the slot, computed by
    the same function); raises IndicatorSpecError for unknown names or parameters."""
    assert ctx.bars is not None
    if ctx.prefetched is not None:  # the same computation, made ahead (apps.pipeline.prefetch)
        results = ctx.prefetched.indicators
    else:
        results = compute_indicators(parse_indicator_specs(ctx.strategy.indicators), ctx.bars)
    ctx.indicators = results
    ctx.latest_indicators = latest_values(results)
    recorder.output = {
        "latest": ctx.latest_indicators,
        "groups": {r.spec.key: r.group for r in results},
    }
