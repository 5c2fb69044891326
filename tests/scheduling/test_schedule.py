"""Schedule slots from cron + IANA timezone, across DST transitions."""

from datetime import UTC, datetime

from apps.strategies.schedule import latest_slot_at_or_before, next_slot_after

NEW_YORK = "America/New_York"


def slots_after(cron: str, tz: str, start: datetime, count: int) -> list[str]:
    found, moment = [], start
    for _ in range(count):
        moment = next_slot_after(cron, tz, moment)
        found.append(moment.strftime("%m-%d %H:%M"))
    return found


def test_a_weekday_slot_in_new_york_is_converted_to_utc() -> None:
    # 16:30 New York is 20:30 UTC in summer (EDT) and 21:30 in winter (EST)
    assert slots_after("30 16 * * 1-5", NEW_YORK, datetime(2024, 7, 5, 21, tzinfo=UTC), 2) == [
        "07-08 20:30",
        "07-09 20:30",
    ]
    assert slots_after("30 16 * * 1-5", NEW_YORK, datetime(2024, 1, 5, 22, tzinfo=UTC), 1) == [
        "01-08 21:30"
    ]


def test_spring_forward_runs_a_missing_local_time_once_after_the_gap() -> None:
    # 2024-03-10 02:30 does not exist in New York: the slot runs at 03:00 EDT (07:00 UTC)
    assert slots_after("30 2 * * *", NEW_YORK, datetime(2024, 3, 9, 12, tzinfo=UTC), 3) == [
        "03-10 07:00",
        "03-11 06:30",
        "03-12 06:30",
    ]


def test_fall_back_runs_a_repeated_local_time_once() -> None:
    # 2024-11-03 01:30 happens twice in New York (EDT then EST): a daily job runs once
    assert slots_after("30 1 * * *", NEW_YORK, datetime(2024, 11, 2, 12, tzinfo=UTC), 3) == [
        "11-03 05:30",
        "11-04 06:30",
        "11-05 06:30",
    ]


def test_fall_back_keeps_both_real_moments_of_an_every_30_minutes_job() -> None:
    assert slots_after("*/30 * * * *", NEW_YORK, datetime(2024, 11, 3, 4, 45, tzinfo=UTC), 4) == [
        "11-03 05:00",
        "11-03 05:30",
        "11-03 06:00",
        "11-03 06:30",
    ]


def test_latest_slot_includes_the_moment_itself() -> None:
    moment = datetime(2024, 7, 8, 20, 30, tzinfo=UTC)
    assert latest_slot_at_or_before("30 16 * * 1-5", NEW_YORK, moment) == moment
    assert latest_slot_at_or_before(
        "30 16 * * 1-5", NEW_YORK, datetime(2024, 7, 8, 20, 29, tzinfo=UTC)
    ) == datetime(2024, 7, 5, 20, 30, tzinfo=UTC)
