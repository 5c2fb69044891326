"""Schedule slots from a cron expression evaluated in an IANA timezone (croniter).

DST, as cron daemons do it: a slot whose local time does not exist (spring forward) runs at
the first valid time after the gap, once; a slot whose local time occurs twice (fall back) runs
once, at its first occurrence, when the cron expression names its hours — an expression with
``*`` in the hour field runs at both, since they are distinct real moments an hour apart.

Strategies' next slots (``Strategy.next_run_at``) are kept here too: ``schedules_refresh`` for
all of them (the dispatcher after each pass, beat hourly) and ``strategy_schedule_refresh`` for
the one a change saved.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from django.db import transaction
from django.utils import timezone as dj_timezone

from apps.strategies.models import Strategy

UPDATE_BATCH = 1000
# The fields a strategy's slots depend on: changing one clears ``next_run_at``.
SCHEDULE_FIELDS = ("schedule_cron", "schedule_timezone", "is_active")


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


def slots_at(now: datetime) -> Callable[[str, str], tuple[datetime, datetime]]:
    """A function giving the latest slot at or before ``now`` and the next slot after it, per
    (cron, timezone), each computed once for all strategies sharing that schedule.

    Input: ``now`` tz-aware. Output: ``slots(cron, timezone) -> (latest, upcoming)``, in UTC.
    Raises what croniter raises for a bad expression (when called).
    """
    cache: dict[tuple[str, str], tuple[datetime, datetime]] = {}

    def slots(cron: str, tz: str) -> tuple[datetime, datetime]:
        if (cron, tz) not in cache:
            cache[(cron, tz)] = (
                latest_slot_at_or_before(cron, tz, now),
                next_slot_after(cron, tz, now),
            )
        return cache[(cron, tz)]

    return slots


def schedules_refresh(*, now: datetime | None = None, only_missing: bool = False) -> int:
    """Set ``next_run_at`` to the next slot after now for active strategies; returns how many.

    ``only_missing`` touches only strategies that have none (new or re-activated ones); otherwise
    every active strategy whose slot is not yet due is recomputed (after schedule edits).
    Inactive strategies get ``next_run_at = None``.
    """
    now = now or dj_timezone.now()
    slots = slots_at(now)
    with transaction.atomic():
        Strategy.objects.filter(is_active=False).exclude(next_run_at=None).update(next_run_at=None)
        strategies = Strategy.objects.select_for_update(skip_locked=True).filter(is_active=True)
        if only_missing:
            strategies = strategies.filter(next_run_at=None)
        else:
            # A due slot belongs to the dispatcher: moving it here would lose it.
            strategies = strategies.exclude(next_run_at__lte=now)
        rows = list(strategies.only("pk", "schedule_cron", "schedule_timezone"))
        for strategy in rows:
            strategy.next_run_at = slots(strategy.schedule_cron, strategy.schedule_timezone)[1]
        Strategy.objects.bulk_update(rows, ["next_run_at"], batch_size=UPDATE_BATCH)
    return len(rows)


def strategy_schedule_refresh(*, strategy: Strategy, now: datetime | None = None) -> None:
    """Bring ``strategy``'s ``next_run_at`` up to date after a change, touching no other row:
    None when inactive; the next slot after ``now`` (default: the current time) when active
    without one; kept otherwise (a slot already set, due or not, stays the dispatcher's).
    The stored row is read and locked (``SELECT … FOR UPDATE``), and ``strategy`` gets the
    stored value. Raises what croniter raises for a bad cron expression.
    """
    now = now or dj_timezone.now()
    with transaction.atomic():
        row = (
            Strategy.objects.select_for_update()
            .filter(pk=strategy.pk)
            .values("is_active", "next_run_at", "schedule_cron", "schedule_timezone")
            .first()
        )
        if row is None:
            return
        upcoming = row["next_run_at"]
        if not row["is_active"]:
            upcoming = None
        elif upcoming is None:
            upcoming = next_slot_after(row["schedule_cron"], row["schedule_timezone"], now)
        if upcoming != row["next_run_at"]:
            Strategy.objects.filter(pk=strategy.pk).update(next_run_at=upcoming)
        strategy.next_run_at = upcoming
