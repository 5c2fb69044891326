"""Trading sessions of a symbol's exchange, from exchange-calendars."""

from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd

CALENDAR_START = "1990-01-01"


@lru_cache(maxsize=32)
def _calendar(code: str) -> exchange_calendars.ExchangeCalendar:
    # Building a calendar takes ~0.1 s: once per process and code. From 1990, to cover the
    # history of the shipped bars (the library's default starts 20 years back).
    try:
        return exchange_calendars.get_calendar(code, start=CALENDAR_START)
    except ValueError:
        # A few calendars cannot go back that far (XTKS starts in 1997, XSHG in 2004): from
        # their earliest date instead of failing every run of the symbol.
        earliest = type(exchange_calendars.get_calendar(code)).bound_min()
        return exchange_calendars.get_calendar(code, start=earliest)


def calendar_names() -> list[str]:
    """Every calendar code exchange-calendars knows (e.g. XNYS, XNAS, XLON)."""
    return list(exchange_calendars.get_calendar_names(include_aliases=True))


def calendar_timezone(trading_calendar: str) -> str:
    """The IANA timezone of the exchange of ``trading_calendar`` (e.g. "America/New_York" for
    XNYS). Raises exchange_calendars' InvalidCalendarName for an unknown code."""
    return str(_calendar(trading_calendar).tz)


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


def session_date(*, trading_calendar: str, timezone: str, moment: datetime) -> date:
    """The trading day (exchange session date) a daily bar stamped ``moment`` (tz-aware)
    belongs to, for a symbol with ``trading_calendar`` (exchange-calendars code, may be blank)
    and IANA ``timezone``.

    Daily bars carry their session as a time stamp in one of three ways, all mapped here:
    - 00:00 UTC of the session date: Sibyl's own convention (the shipped bars, IBKR's daily
      bars, a CSV of plain dates imported in UTC) — the session is that UTC date;
    - a moment during the session (e.g. the open): with a calendar, the session that minute
      trades in (exchange-calendars' ``minute_to_session``; this also places the evening start
      of a futures session such as CMES on the next day, as the exchange does);
    - local midnight of the session date (plain dates imported with ``--tz``): the date in the
      exchange's timezone (the calendar's, else the symbol's ``timezone``).
    """
    utc_moment = moment.astimezone(UTC)
    if utc_moment.time() == time(0):
        return utc_moment.date()
    zone = timezone
    if trading_calendar:
        calendar = _calendar(trading_calendar)
        minute = pd.Timestamp(utc_moment)
        if calendar.first_minute <= minute <= calendar.last_minute and calendar.is_trading_minute(
            minute
        ):
            return calendar.minute_to_session(minute).date()
        zone = str(calendar.tz)
    return utc_moment.astimezone(ZoneInfo(zone)).date()


def session_close_due(*, calendar_name: str, minutes_before: int, now: datetime) -> datetime | None:
    """The end (tz-aware UTC) of the exchange session of ``calendar_name`` (an
    exchange-calendars code, e.g. "XNYS") when ``now`` (tz-aware) lies in the last
    ``minutes_before`` minutes of it, else None.

    The window is [close − minutes_before, close): the close is that day's actual close from
    the calendar, so an early close (NYSE 13:00 New York on the day after Thanksgiving) moves
    the window with it. It never starts before the session's open: a window longer than the
    session (240 minutes on a 3.5-hour day) opens with the session, not before it. A weekend or
    holiday has no session and is never due. A blank calendar (a symbol that "always trades",
    e.g. forex without a calendar) has no session end and is never due; the 24/7 calendar
    ("24/7", crypto) has one session per UTC day, so it is due before each 00:00 UTC. Moments
    outside the calendar's range are never due (it cannot tell). Raises exchange_calendars'
    InvalidCalendarName for an unknown code.
    """
    if not calendar_name or minutes_before <= 0:
        return None
    calendar = _calendar(calendar_name)
    minute = pd.Timestamp(now).tz_convert("UTC")
    if not calendar.first_minute <= minute <= calendar.last_minute:
        return None
    # The session that trades at ``now`` or opens next; its close is the end to check against.
    session = calendar.minute_to_session(minute, direction="next")
    close = calendar.session_close(session)
    opened = calendar.session_open(session)
    start = max(close - pd.Timedelta(minutes=minutes_before), opened)
    if start <= minute < close:
        return close.to_pydatetime()
    return None


def session_close_windows(
    *, calendar_name: str, minutes_before: int, after: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The end-of-day windows of ``calendar_name`` that open in (``after``, ``until``] (tz-aware),
    oldest first, as (window start, session close) in tz-aware UTC — the same window as
    ``session_close_due`` (close − ``minutes_before``, never before the open; early closes
    respected). A blank calendar or ``minutes_before`` ≤ 0 has none; the part of the range
    outside the calendar's bounds has none. Raises InvalidCalendarName for an unknown code."""
    if not calendar_name or minutes_before <= 0 or until <= after:
        return []
    calendar = _calendar(calendar_name)
    first = max(pd.Timestamp(after).tz_convert("UTC"), calendar.first_minute)
    last = min(pd.Timestamp(until).tz_convert("UTC"), calendar.last_minute)
    if last < first:
        return []
    windows = []
    # Sessions from the one trading at (or opening after) ``first`` to one day past ``last``:
    # a window may open on the session day before its close's UTC date.
    start_session = calendar.minute_to_session(first, direction="next")
    end_session = calendar.minute_to_session(last, direction="previous")
    if end_session < start_session:
        return []
    for session in calendar.sessions_in_range(start_session, end_session):
        close = calendar.session_close(session)
        start = max(close - pd.Timedelta(minutes=minutes_before), calendar.session_open(session))
        if first < start <= last:
            windows.append((start.to_pydatetime(), close.to_pydatetime()))
    return windows


def trading_minutes_between(*, trading_calendar: str, start: datetime, end: datetime) -> int | None:
    """Minutes the exchange of ``trading_calendar`` traded in [``start``, ``end``) (tz-aware),
    from its sessions' opens and closes (breaks and early closes respected); None without a
    calendar or when the span leaves the calendar's range (it cannot tell)."""
    if not trading_calendar:
        return None
    calendar = _calendar(trading_calendar)
    first = pd.Timestamp(start).tz_convert("UTC").floor("min")
    last = pd.Timestamp(end).tz_convert("UTC").floor("min")
    if last <= first:
        return 0
    if first < calendar.first_minute or last > calendar.last_minute:
        return None
    return len(calendar.minutes_in_range(first, last - pd.Timedelta(minutes=1)))
