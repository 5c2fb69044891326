"""Trading sessions of a symbol's exchange, from exchange-calendars."""

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd


@lru_cache(maxsize=32)
def _calendar(code: str) -> exchange_calendars.ExchangeCalendar:
    # Building a calendar takes a noticeable fraction of a second: once per process and code.
    return exchange_calendars.get_calendar(code)


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
