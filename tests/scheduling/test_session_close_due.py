"""``session_close_due``: whether "now" is inside the last N minutes of the exchange session,
from exchange-calendars (early closes included)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from apps.symbols.calendars import session_close_due

NY = ZoneInfo("America/New_York")
# NYSE 2025-11-26 (Wednesday): 09:30–16:00 New York = 14:30–21:00 UTC.
NORMAL_CLOSE = datetime(2025, 11, 26, 21, 0, tzinfo=UTC)
# NYSE 2025-11-28 (the day after Thanksgiving): early close at 13:00 New York = 18:00 UTC.
EARLY_CLOSE = datetime(2025, 11, 28, 18, 0, tzinfo=UTC)


def due(now: datetime, minutes: int = 15, calendar: str = "XNYS") -> datetime | None:
    return session_close_due(calendar_name=calendar, minutes_before=minutes, now=now)


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (15, 44, None),  # one minute before the window
        (15, 45, NORMAL_CLOSE),  # the window opens 15 minutes before the close
        (15, 46, NORMAL_CLOSE),
        (15, 59, NORMAL_CLOSE),
        (16, 0, None),  # the session has ended
        (16, 30, None),
        (9, 0, None),  # before the open
    ],
)
def test_a_normal_day_closes_at_16_00_new_york(
    hour: int, minute: int, expected: datetime | None
) -> None:
    assert due(datetime(2025, 11, 26, hour, minute, tzinfo=NY)) == expected


def test_the_early_close_moves_the_window_to_12_45() -> None:
    assert due(datetime(2025, 11, 28, 12, 44, tzinfo=NY)) is None
    assert due(datetime(2025, 11, 28, 12, 46, tzinfo=NY)) == EARLY_CLOSE
    # The normal day's window is after that day's close: nothing is due.
    assert due(datetime(2025, 11, 28, 15, 46, tzinfo=NY)) is None


def test_a_window_longer_than_the_session_starts_at_the_open() -> None:
    assert due(datetime(2025, 11, 28, 9, 29, tzinfo=NY), minutes=240) is None
    assert due(datetime(2025, 11, 28, 9, 30, tzinfo=NY), minutes=240) == EARLY_CLOSE


@pytest.mark.parametrize(
    "day",
    [
        (2025, 11, 29),  # Saturday
        (2025, 11, 30),  # Sunday
        (2025, 11, 27),  # Thanksgiving: NYSE closed
    ],
)
def test_no_session_no_close(day: tuple[int, int, int]) -> None:
    for hour in range(24):
        for minute in (0, 30, 46, 59):
            assert due(datetime(*day, hour, minute, tzinfo=NY)) is None


def test_24h_markets() -> None:
    # No calendar (forex as Sibyl declares it): no session end, never due.
    assert due(datetime(2025, 11, 26, 23, 50, tzinfo=UTC), calendar="") is None
    # The 24/7 calendar (crypto) has one session per UTC day: due before each 00:00 UTC.
    assert due(datetime(2025, 11, 29, 23, 50, tzinfo=UTC), calendar="24/7") == datetime(
        2025, 11, 30, tzinfo=UTC
    )
    assert due(datetime(2025, 11, 29, 23, 40, tzinfo=UTC), calendar="24/7") is None


def test_a_session_with_a_lunch_break_closes_at_its_end() -> None:
    # Hong Kong trades 09:30–12:00 and 13:00–16:00 (UTC+8): the break is not the end.
    hong_kong = ZoneInfo("Asia/Hong_Kong")
    assert due(datetime(2025, 11, 26, 11, 50, tzinfo=hong_kong), calendar="XHKG") is None
    assert due(datetime(2025, 11, 26, 12, 30, tzinfo=hong_kong), calendar="XHKG") is None
    assert due(datetime(2025, 11, 26, 15, 50, tzinfo=hong_kong), calendar="XHKG") == datetime(
        2025, 11, 26, 8, 0, tzinfo=UTC
    )
