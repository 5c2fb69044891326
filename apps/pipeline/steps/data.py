"""Step 1, data: the strategy's latest closed bars as of the run's time (no look-ahead)."""

from typing import Any

from apps.lineage.services import StepRecorder
from apps.marketdata.providers import EmbeddedProvider
from apps.pipeline.context import RunContext

NAME = "data"
MIN_BARS = 50


def step_input(ctx: RunContext) -> dict[str, Any]:
    """Symbol, bar size, lookback and as-of time."""
    strategy = ctx.strategy
    return {
        "symbol": strategy.symbol.symbol,
        "bar_size": strategy.bar_size,
        "lookback": strategy.lookback,
        "as_of": ctx.run.as_of.isoformat(),
        "min_bars": min(strategy.lookback, MIN_BARS),
    }


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Load up to ``lookback`` bars; at least min(lookback, 50) must exist and be sound."""
    strategy = ctx.strategy
    provider = EmbeddedProvider()
    bars = provider.get_bars(
        symbol=strategy.symbol,
        bar_size=strategy.bar_size,
        as_of=ctx.run.as_of,
        count=strategy.lookback,
        min_count=min(strategy.lookback, MIN_BARS),
    )
    ctx.bars = bars
    recorder.output = {
        "provider": provider.name,
        "count": len(bars),
        "first_ts": bars.ts[0].isoformat(),
        "last_ts": bars.ts[-1].isoformat(),
        "last_close": str(bars.last_close),
    }
