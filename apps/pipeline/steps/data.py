"""Step 1, data: the strategy's latest closed bars as of the run's time (no look-ahead)."""

from datetime import datetime
from typing import Any

from apps.lineage.services import StepRecorder
from apps.marketdata.providers import MarketDataProvider, provider_for
from apps.marketdata.series import BarSeries
from apps.pipeline.context import RunContext
from apps.pipeline.prefetch import slot_inputs
from apps.strategies.models import Strategy

NAME = "data"
MIN_BARS = 50


def step_input(ctx: RunContext) -> dict[str, Any]:
    """Symbol (code, security type, currency, trading calendar), bar size, lookback and as-of
    time."""
    strategy = ctx.strategy
    return {
        "symbol": strategy.symbol.symbol,
        "sec_type": strategy.symbol.sec_type,
        "currency": strategy.symbol.currency,
        "trading_calendar": strategy.symbol.trading_calendar,
        "bar_size": strategy.bar_size,
        "lookback": strategy.lookback,
        "as_of": ctx.run.as_of.isoformat(),
        "min_bars": min(strategy.lookback, MIN_BARS),
    }


def bars_load(provider: MarketDataProvider, strategy: Strategy, as_of: datetime) -> BarSeries:
    """Up to ``strategy.lookback`` bars of its symbol and bar size closed by ``as_of``
    (tz-aware UTC), oldest first, from ``provider``; at least min(lookback, ``MIN_BARS``).
    Raises NotEnoughBarsError or BarValidationError (``MarketDataProvider.get_bars``)."""
    return provider.get_bars(
        symbol=strategy.symbol,
        bar_size=strategy.bar_size,
        as_of=as_of,
        count=strategy.lookback,
        min_count=min(strategy.lookback, MIN_BARS),
    )


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Load up to ``lookback`` bars from the configured provider (``provider_for``: the embedded
    store, or IBKR with ``BROKER=ibkr``); at least min(lookback, 50) must exist and be sound,
    one per session (week, month) for daily (weekly, monthly) bars. A failure raises
    NotEnoughBarsError or BarValidationError, which the executor records on the step. Bars a
    backtest prefetched for the slot (``apps.pipeline.prefetch.slot_inputs``, loaded by
    ``bars_load`` from the embedded store) are taken as they are.

    The output records the provider and, for a provider that fetches (IBKR), what it requested
    (``request``: mode, durationStr, bars received and stored, pacing waits).
    """
    strategy = ctx.strategy
    ctx.prefetched = slot_inputs(strategy, ctx.run.as_of)
    if ctx.prefetched is not None:  # computed ahead by bars_load (apps.pipeline.prefetch)
        recorder.output = {"provider": ctx.prefetched.provider}
        bars = ctx.prefetched.bars
    else:
        provider = provider_for()
        recorder.output = {"provider": provider.name}
        try:
            bars = bars_load(provider, strategy, ctx.run.as_of)
        finally:
            # Also when it failed: lineage shows what was asked of the broker.
            request = getattr(provider, "last_request", None)
            if request is not None:
                recorder.output["request"] = request.as_dict()
    ctx.bars = bars
    recorder.output.update(
        {
            "count": len(bars),
            "first_ts": bars.ts[0].isoformat(),
            "last_ts": bars.ts[-1].isoformat(),
            "last_close": str(bars.last_close),
        }
    )
