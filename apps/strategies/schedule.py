"""Schedule slots from a cron expression evaluated in an IANA timezone (croniter).

DST, as cron daemons do it: a slot whose local time does not exist (spring forward) runs at
the first valid time after the gap, once; a slot whose local time occurs twice (fall back) runs
once, at its first occurrence, when the cron expression names its hours — an expression with
``*`` in the hour field runs at both, since they are distinct real moments an hour apart.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter


def _is_repeated_wall_time(moment: datetime) -> bool:
    """True for the second occurrence of an ambiguous local time (after a fall-back)."""
    naive = moment.replace(tzinfo=None)
    first = naive.replace(tzinfo=moment.tzinfo, fold=0)
    return first.utcoffset() != moment.utcoffset()


def _fixed_hours(cron: str) -> bool:
    fields = cron.split()
    return len(fields) >= 2 and fields[1] != "*"


def _iterate(cron: str, timezone: str, moment: datetime, forward: bool) -> datetime:
    start = moment.astimezone(ZoneInfo(timezone))
    iterator = croniter(cron, start)
    while True:
        slot: datetime = iterator.get_next(datetime) if forward else iterator.get_prev(datetime)
        if not (_fixed_hours(cron) and _is_repeated_wall_time(slot)):
            return slot.astimezone(UTC)


def next_slot_after(cron: str, timezone: str, moment: datetime) -> datetime:
    """The first slot strictly after ``moment`` (tz-aware), in UTC."""
    return _iterate(cron, timezone, moment, forward=True)


def latest_slot_at_or_before(cron: str, timezone: str, moment: datetime) -> datetime:
    """The latest slot at or before ``moment`` (tz-aware), in UTC."""
    return _iterate(cron, timezone, moment + timedelta(microseconds=1), forward=False)
