"""Trading sessions of a symbol's exchange, from exchange-calendars."""

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd

CALENDAR_START = "1990-01-01"


@lru_cache(maxsize=32)
def _calendar(code: str) -> exchange_calendars.ExchangeCalendar:
    # Building a calendar takes ~0.1 s: once per process and code. From 1990, to cover the
    # history of the shipped bars (the library's default starts 20 years back).
    return exchange_calendars.get_calendar(code, start=CALENDAR_START)


def calendar_names() -> list[str]:
    """Every calendar code exchange-calendars knows (e.g. XNYS, XNAS, XLON)."""
    return list(exchange_calendars.get_calendar_names(include_aliases=True))


def has_session_on(*, trading_calendar: str, moment: datetime) -> bool:
    """Whether the exchange of ``trading_calendar`` (a Symbol's, e.g. "XNYS") trades on
    ``moment``'s date in the exchange's timezone.

    A blank calendar always trades. Dates outside the calendar's range count as trading days
    (the calendar cannot tell).
    """
    if not trading_calendar:
        return True
    calendar = _calendar(trading_calendar)
    local_date = moment.astimezone(ZoneInfo(str(calendar.tz))).date()
    session = pd.Timestamp(local_date)
    if session < calendar.first_session or session > calendar.last_session:
        return True
    return bool(calendar.is_session(session))


def last_closed_session(*, trading_calendar: str, moment: datetime) -> datetime | None:
    """The label (date at 00:00 UTC, as daily bars are stamped) of the latest session of the
    exchange that had closed by ``moment``; None without a calendar or outside its range."""
    if not trading_calendar:
        return None
    calendar = _calendar(trading_calendar)
    minute = pd.Timestamp(moment).tz_convert("UTC")
    if not calendar.first_minute < minute < calendar.last_minute:
        return None
    session = calendar.minute_to_past_session(minute)
    return datetime(session.year, session.month, session.day, tzinfo=UTC)
