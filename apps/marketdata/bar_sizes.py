"""Bar durations, so a run can tell which bars had closed by its as-of time."""

import calendar
from datetime import datetime, timedelta

from apps.common.errors import SibylError
from apps.marketdata.models import BarSize
from apps.symbols.calendars import last_closed_session

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
