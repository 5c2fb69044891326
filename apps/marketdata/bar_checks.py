"""Checks that a series of OHLCV bars is fit to analyse and trade on."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.common.errors import SibylError
from apps.marketdata.models import BarSize
from apps.symbols.calendars import session_date

MAX_PROBLEMS_SHOWN = 5
# What one bar of a daily or longer size stands for.
PERIOD: dict[str, str] = {
    BarSize.DAY_1: "session",
    BarSize.WEEK_1: "week",
    BarSize.MONTH_1: "month",
}


class BarValidationError(SibylError):
    """Bars that are unsorted, duplicated, non-finite, negative or internally inconsistent,
    or two bars of one session (daily and longer bar sizes)."""


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


def bar_session(ts: datetime, *, bar_size: str, trading_calendar: str, timezone: str) -> str | None:
    """The period a bar opened at ``ts`` (tz-aware) stands for, as a label: "session
    2024-01-02" (``1 day``), "week 2024-W01" (``1 week``, ISO week of the session date) or
    "month 2024-01" (``1 month``); None for intraday sizes, whose bars are told apart by ``ts``.

    The session date is ``session_date`` (apps.symbols.calendars) for the symbol's
    ``trading_calendar`` (exchange-calendars code, may be blank) and IANA ``timezone``.
    """
    if bar_size not in PERIOD:
        return None
    day = session_date(trading_calendar=trading_calendar, timezone=timezone, moment=ts)
    if bar_size == BarSize.DAY_1:
        return f"session {day.isoformat()}"
    if bar_size == BarSize.WEEK_1:
        year, week, _ = day.isocalendar()
        return f"week {year}-W{week:02d}"
    return f"month {day:%Y-%m}"


def bars_by_session(
    stamps: Iterable[datetime], *, bar_size: str, trading_calendar: str, timezone: str
) -> dict[str, list[datetime]]:
    """Bar open times (tz-aware) grouped by ``bar_session`` label, in the given order; empty for
    intraday bar sizes."""
    groups: dict[str, list[datetime]] = defaultdict(list)
    for ts in stamps:
        label = bar_session(
            ts, bar_size=bar_size, trading_calendar=trading_calendar, timezone=timezone
        )
        if label is None:
            return {}
        groups[label].append(ts)
    return dict(groups)


def validate_one_bar_per_session(
    stamps: Sequence[datetime], *, bar_size: str, trading_calendar: str, timezone: str
) -> None:
    """Raise BarValidationError when two of the bars opened at ``stamps`` (tz-aware) fall in
    one session (``1 day``), week (``1 week``) or month (``1 month``) of the symbol with
    ``trading_calendar`` and ``timezone`` (see ``bar_session``).

    Such a pair is one trading day stored twice (typically the same file imported once in UTC
    and once with ``--tz``, stamped 00:00 and 04:00 UTC): analysing it counts the day twice and
    a paper broker would fill on the phantom bar. The message names each session and its bars.
    """
    groups = bars_by_session(
        stamps, bar_size=bar_size, trading_calendar=trading_calendar, timezone=timezone
    )
    problems = [
        f"{len(group)} bars in {label}: {', '.join(ts.isoformat() for ts in group)}"
        for label, group in groups.items()
        if len(group) > 1
    ]
    if problems:
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        suffix = f" (and {more} more)" if more > 0 else ""
        raise BarValidationError(
            f"one {bar_size} bar per {PERIOD[bar_size]} expected: {shown}{suffix}"
        )
