"""The documented context a prompt template is rendered with.

Keys (all plain JSON values; prices in the instrument's currency, times ISO 8601 UTC):
- ``symbol``: {symbol, sec_type, exchange, currency, description}
- ``bar_size``: e.g. "1 day"; ``as_of``: the run's as-of time
- ``bars``: {count, first_ts, last_ts, last: {ts, open, high, low, close, volume},
  recent: the last 10 bars like ``last``, period_high, period_low, change_pct}
- ``indicators``: {key: latest value or null while warming up}
- ``position``: {quantity (signed, shares), average_cost, realized_pnl}
- ``risk``: {capital, risk_per_trade_pct, max_position_quantity, max_order_notional,
  min_confidence, min_reward_risk, max_entry_deviation_pct}
- ``chart``: a text summary of the chart, for models that cannot see the PNG

Anonymised (the leakage guard of evaluation runs, ``apps.analysis.anonymise``): the same keys,
with ``symbol.symbol`` "ASSET", ``symbol.exchange`` "EXCHANGE", ``symbol.description`` "",
and every time a bar offset instead of a date: ``as_of`` and the last bar are "t-0", the bar
before "t-1", … (``first_ts`` "t-<count-1>").
"""

from typing import Any

from apps.analysis.anonymise import anonymous_symbol, offset_label
from apps.marketdata.series import BarSeries

RECENT_BARS = 10


def _ts(bars: BarSeries, index: int, anonymise: bool) -> str:
    """Bar ``index``'s open time (ISO 8601 UTC), or its offset label when anonymised."""
    if anonymise:
        return offset_label(len(bars) - 1 - index)
    return bars.ts[index].isoformat()


def _bar_dict(bars: BarSeries, index: int, anonymise: bool = False) -> dict[str, Any]:
    return {
        "ts": _ts(bars, index, anonymise),
        "open": float(bars.open[index]),
        "high": float(bars.high[index]),
        "low": float(bars.low[index]),
        "close": float(bars.close[index]),
        "volume": float(bars.volume[index]),
    }


def bars_summary(bars: BarSeries, *, anonymise: bool = False) -> dict[str, Any]:
    """Summarise N ≥ 1 bars for a prompt (see the module docstring for the keys; times as
    bar offsets when ``anonymise``)."""
    first_close = float(bars.close[0])
    last_close = float(bars.close[-1])
    last = len(bars) - 1
    return {
        "count": len(bars),
        "first_ts": _ts(bars, 0, anonymise),
        "last_ts": _ts(bars, last, anonymise),
        "last": _bar_dict(bars, last, anonymise),
        "recent": [
            _bar_dict(bars, i, anonymise) for i in range(max(0, len(bars) - RECENT_BARS), len(bars))
        ],
        "period_high": float(bars.high.max()),
        "period_low": float(bars.low.min()),
        "change_pct": round((last_close / first_close - 1.0) * 100.0, 4),
    }


def chart_summary(
    symbol: str, bars: BarSeries, indicators: dict[str, float | None], *, anonymise: bool = False
) -> str:
    """A few lines describing the chart for models that take no image (``symbol`` as given:
    the caller passes the anonymous token when anonymising; times as bar offsets then)."""
    summary = bars_summary(bars, anonymise=anonymise)
    values = ", ".join(
        f"{key}={value:.4g}" for key, value in indicators.items() if value is not None
    )
    return (
        f"{symbol}: {summary['count']} bars from {summary['first_ts']} to {summary['last_ts']}; "
        f"range {summary['period_low']:.6g}–{summary['period_high']:.6g}; "
        f"last close {summary['last']['close']:.6g} ({summary['change_pct']:+.2f}% over the "
        f"period). Latest indicators: {values or 'none'}."
    )


def build_prompt_context(
    *,
    symbol: dict[str, Any],
    bar_size: str,
    as_of: str,
    bars: BarSeries,
    indicators: dict[str, float | None],
    position: dict[str, float],
    risk: dict[str, float],
    anonymise: bool = False,
) -> dict[str, Any]:
    """Assemble the context dict documented above; ``anonymise``: without ticker, names or
    dates (module docstring), ``as_of`` then ignored and shown as "t-0"."""
    if anonymise:
        symbol = anonymous_symbol(symbol)
        as_of = offset_label(0)
    return {
        "symbol": symbol,
        "bar_size": bar_size,
        "as_of": as_of,
        "bars": bars_summary(bars, anonymise=anonymise),
        "indicators": indicators,
        "position": position,
        "risk": risk,
        "chart": chart_summary(symbol["symbol"], bars, indicators, anonymise=anonymise),
    }
