"""Checks that a series of OHLCV bars is fit to analyse and trade on."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.common.errors import SibylError

MAX_PROBLEMS_SHOWN = 5


class BarValidationError(SibylError):
    """Bars that are unsorted, duplicated, non-finite, negative or internally inconsistent."""


@dataclass(frozen=True, slots=True)
class OhlcvRow:
    """One bar as Decimals: ``ts`` UTC bar open time, prices in the instrument's currency."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def bar_problems(bar: OhlcvRow) -> list[str]:
    """Return what is wrong with one bar (empty when it is sound)."""
    prices = (bar.open, bar.high, bar.low, bar.close)
    if not all(value.is_finite() for value in (*prices, bar.volume)):
        return ["a price or the volume is not a finite number"]
    problems = []
    if any(price <= 0 for price in prices):
        problems.append("a price is zero or negative")
    if bar.volume < 0:
        problems.append("volume is negative")
    if bar.high < bar.low:
        problems.append(f"high {bar.high} < low {bar.low}")
    if bar.high < max(bar.open, bar.close):
        problems.append(f"high {bar.high} < max(open, close)")
    if bar.low > min(bar.open, bar.close):
        problems.append(f"low {bar.low} > min(open, close)")
    return problems


def validate_bars(bars: Sequence[OhlcvRow]) -> None:
    """Raise BarValidationError naming the first problems when any bar is unsound.

    Bars must be strictly increasing in ``ts`` (sorted, no duplicates), every value finite,
    prices positive, volume non-negative, and low ≤ min(open, close) ≤ max(open, close) ≤ high.
    """
    problems: list[str] = []
    previous: datetime | None = None
    for bar in bars:
        if previous is not None and bar.ts <= previous:
            problems.append(f"{bar.ts.isoformat()}: not after the previous bar {previous}")
        problems.extend(f"{bar.ts.isoformat()}: {problem}" for problem in bar_problems(bar))
        previous = bar.ts
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        suffix = f" (and {more} more)" if more > 0 else ""
        raise BarValidationError(f"{len(problems)} bad bar(s): {shown}{suffix}")
