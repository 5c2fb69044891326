"""Bar durations, so a run can tell which bars had closed by its as-of time."""

import calendar
from datetime import datetime, timedelta

from apps.common.errors import SibylError
from apps.marketdata.models import BarSize
from apps.symbols.calendars import last_closed_session, trading_minutes_between

FIXED_DURATIONS: dict[str, timedelta] = {
    BarSize.MIN_1: timedelta(minutes=1),
    BarSize.MIN_5: timedelta(minutes=5),
    BarSize.MIN_15: timedelta(minutes=15),
    BarSize.MIN_30: timedelta(minutes=30),
    BarSize.HOUR_1: timedelta(hours=1),
    BarSize.HOUR_4: timedelta(hours=4),
    BarSize.DAY_1: timedelta(days=1),
    BarSize.WEEK_1: timedelta(weeks=1),
}


class UnknownBarSizeError(SibylError):
    """The bar size is not one of ``BarSize`` (IBKR barSizeSetting spelling)."""


def validate_bar_size(bar_size: str) -> str:
    """Return ``bar_size`` if it is a known ``BarSize`` value; raise UnknownBarSizeError if not."""
    if bar_size not in BarSize.values:
        raise UnknownBarSizeError(
            f"unknown bar size {bar_size!r}; expected one of {', '.join(BarSize.values)}"
        )
    return bar_size


def _months_earlier(moment: datetime, months: int) -> datetime:
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def latest_closed_open(as_of: datetime, bar_size: str, trading_calendar: str = "") -> datetime:
    """The latest bar open time (UTC) whose bar has closed by ``as_of``.

    A bar opened at ``ts`` closes at ``ts + duration``; a run as of ``as_of`` may see it only if
    that close is at or before ``as_of`` (no look-ahead). Monthly bars use calendar months.
    Daily bars of a symbol with an exchange calendar close with their session instead (16:00
    New York for XNYS), so a run just after the close sees that day's bar.
    """
    validate_bar_size(bar_size)
    if bar_size == BarSize.DAY_1:
        session = last_closed_session(trading_calendar=trading_calendar, moment=as_of)
        if session is not None:
            return session
    if bar_size == BarSize.MONTH_1:
        return _months_earlier(as_of, 1)
    return as_of - FIXED_DURATIONS[bar_size]


# Beyond this wall-clock gap no exchange pause explains a missing bar (the longest closures
# are a few days): the data is stale without counting trading minutes.
LONGEST_PAUSE = timedelta(days=7)


def _age(delta: timedelta) -> str:
    days = delta.days
    if days >= 2:
        return f"{days} days"
    hours = int(delta.total_seconds() // 3600)
    if hours >= 2:
        return f"{hours} hours"
    return f"{int(delta.total_seconds() // 60)} minutes"


def bars_staleness(
    *, last_open: datetime, as_of: datetime, bar_size: str, trading_calendar: str = ""
) -> str:
    """Why the latest bar (opened at ``last_open``, tz-aware UTC) is too old to trade on as of
    ``as_of``, or "" when it is fresh.

    The newest bar that can have closed by ``as_of`` is ``latest_closed_open``; a store that
    holds it (or a later one) is fresh. Otherwise the bar is stale when a whole bar's worth of
    trading passed since the latest bar closed: daily bars of a symbol with an exchange calendar
    — a session closed since (the store lacks its bar); other sizes with a calendar — at least
    one bar duration of the exchange's trading minutes since the latest bar's close (nights,
    weekends and holidays do not count); without a calendar — more than one bar duration and a
    day (a holiday the store cannot know) of Monday–Friday time. A gap over ``LONGEST_PAUSE``
    is stale outright. Monthly bars follow calendar months. The reason names the bar and its
    age, e.g. "latest bar 2013-03-01 00:00 UTC (1 day) closed 5 days before the as-of; a newer
    one was due"."""
    validate_bar_size(bar_size)
    due = latest_closed_open(as_of, bar_size, trading_calendar)
    if last_open >= due:
        return ""
    if bar_size == BarSize.MONTH_1:
        closed = last_open + (as_of - _months_earlier(as_of, 1))
        duration = as_of - _months_earlier(as_of, 1)
    else:
        duration = FIXED_DURATIONS[bar_size]
        closed = last_open + duration
    gap = as_of - closed
    reason = (
        f"latest bar {last_open:%Y-%m-%d %H:%M} UTC ({bar_size}) closed {_age(gap)} before the "
        "as-of; a newer one was due"
    )
    if gap > LONGEST_PAUSE:
        return reason
    if bar_size == BarSize.DAY_1 and trading_calendar:
        return reason  # a session closed after the latest bar's: its bar is missing
    minutes = trading_minutes_between(trading_calendar=trading_calendar, start=closed, end=as_of)
    if minutes is None:
        # No calendar (or beyond its range): weekday time, with a day's grace for a holiday
        # the store cannot know about; a 24/7 market names the "24/7" calendar instead.
        return reason if _weekday_time(closed, as_of) > duration + timedelta(days=1) else ""
    return reason if minutes >= duration.total_seconds() / 60 else ""


def _weekday_time(start: datetime, end: datetime) -> timedelta:
    """Time in [``start``, ``end``) that falls on Monday–Friday (UTC dates); ``end`` − ``start``
    is at most ``LONGEST_PAUSE`` here, so walking day by day is cheap."""
    total = timedelta(0)
    moment = start
    while moment < end:
        midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        step_end = min(end, midnight)
        if moment.weekday() < 5:
            total += step_end - moment
        moment = step_end
    return total
