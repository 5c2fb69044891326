"""How much one user may schedule: the one rule every face (API, admin, strategies file) asks
before a strategy is saved active or activated.

- ``STRATEGIES_MAX_ACTIVE_PER_USER``: how many active strategies one owner may have.
- ``SCHEDULE_MIN_INTERVAL_S``: the shortest gap, in seconds, allowed between two slots of an
  active strategy's schedule (``schedule_min_interval_s``).

The limits bind the strategy's *owner*, whoever acts: a strategy owned by a staff user is
exempt (an operator's own strategies), and so is an ownerless one (only an operator can make
one: the admin, or ``apply_strategies`` without ``--owner``). Inactive strategies are drafts:
they are neither counted nor checked, so deactivating is always allowed, and a strategy over a
limit cannot be activated. The limits are checked on change: the count when a strategy becomes
active (created active, activated, or given to another owner), the interval then and whenever
an active strategy's schedule changes; an active strategy saved before a limit was lowered keeps
running and may be edited otherwise. The dispatcher does not enforce them: it runs what is
active.
Source: issue 12, item 5, and ``openspec/specs/security/spec.md`` ("Bounds").
"""

from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise
from typing import Any

from croniter import CroniterBadDateError, croniter
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from apps.common.errors import SibylError
from apps.strategies.models import Strategy

# Slots walked to measure gaps across days; the walk starts just before a year's end so that
# month and year boundaries come early.
SCAN_SLOTS = 500
SCAN_FROM = datetime(2000, 12, 30, tzinfo=UTC)
MAX_ACTIVE = "STRATEGIES_MAX_ACTIVE_PER_USER"
MIN_INTERVAL = "SCHEDULE_MIN_INTERVAL_S"


class StrategyLimitError(SibylError):
    """A strategy would break a per-user limit. ``setting`` names the limit's setting
    (``STRATEGIES_MAX_ACTIVE_PER_USER`` or ``SCHEDULE_MIN_INTERVAL_S``) and ``field`` the
    strategy field at fault (``is_active`` or ``schedule_cron``)."""

    http_status = 403

    def __init__(self, message: str, *, setting: str, field: str) -> None:
        super().__init__(message)
        self.setting, self.field = setting, field

    def api_body(self) -> dict[str, Any]:
        """The API's body, naming the limit's setting."""
        return {**super().api_body(), "setting": self.setting}


def _values(field: list[int | str], size: int) -> list[int]:
    """A croniter ``expanded`` field as sorted numbers (``*`` is every value below ``size``)."""
    if field == ["*"]:
        return list(range(size))
    return sorted(int(value) for value in field)


@lru_cache(maxsize=1024)  # a pure function of the expression; a walk costs tens of ms
def schedule_min_interval_s(cron: str) -> float | None:
    """The shortest gap, in seconds, between two consecutive slots of ``cron`` (croniter
    syntax: 5 fields, or 6 with seconds last); None when it fires at most once.

    Within a day the gap is exact: every firing day has the same times, the product of the
    hour, minute and second fields. Across days (the last slot of one day to the first of the
    next firing day) it is measured over ``SCAN_SLOTS`` slots from a fixed moment, in UTC.
    A DST change in the strategy's time zone may shorten one gap a year; that is not counted.
    ``* * * * *`` → 60, ``*/5 * * * *`` → 300, ``0,1 9 * * *`` → 60, ``0 22 * * 1-5`` → 86400.

    Raises croniter's errors (ValueError subclasses) for an invalid expression.
    """
    fields = croniter(cron).expanded
    hours, minutes = _values(fields[1], 24), _values(fields[0], 60)
    seconds = _values(fields[5], 60) if len(fields) > 5 else [0]
    times = [h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds]
    shortest: float | None = min((b - a for a, b in pairwise(times)), default=None)
    walk = croniter(cron, SCAN_FROM)
    previous: float | None = None
    for _ in range(SCAN_SLOTS):
        if shortest is not None and shortest <= 1:
            break  # nothing fires more often than every second
        try:
            slot = float(walk.get_next(float))
        except CroniterBadDateError:
            break  # it stops firing
        if previous is not None and (shortest is None or slot - previous < shortest):
            shortest = slot - previous
        previous = slot
    return None if shortest is None else float(shortest)


def limits_apply_to(user: User | None) -> bool:
    """Whether the per-user limits bind strategies owned by ``user``: False for no owner and for
    an active staff user."""
    return user is not None and not (user.is_active and user.is_staff)


def strategy_limits_check(*, strategy: Strategy) -> None:
    """Refuse ``strategy`` — as it would be saved or activated — when it is active and breaks a
    limit of its owner (see the module docstring for who is exempt and when each is checked).

    Input: the strategy with its resulting ``owner``, ``is_active`` and ``schedule_cron``
    (a valid expression); its stored row, if any, tells what changed. Output: None. Raises
    StrategyLimitError when its (new) schedule fires more often than ``SCHEDULE_MIN_INTERVAL_S``
    allows, or when, becoming active, its owner already has ``STRATEGIES_MAX_ACTIVE_PER_USER``
    other active strategies. The owner's row is locked (``SELECT … FOR UPDATE``) for the
    caller's transaction, so concurrent saves of one owner's strategies are counted one after
    the other: call it inside the transaction that saves.
    Raises croniter's errors (ValueError subclasses) for an invalid expression.
    """
    owner = strategy.owner
    if not strategy.is_active or owner is None or not limits_apply_to(owner):
        return
    stored = (
        Strategy.objects.filter(pk=strategy.pk)
        .values("is_active", "owner_id", "schedule_cron")
        .first()
    )
    becoming_active = (
        stored is None or not stored["is_active"] or stored["owner_id"] != strategy.owner_id
    )
    new_schedule = (
        becoming_active or stored is None or stored["schedule_cron"] != strategy.schedule_cron
    )
    allowed_s = float(settings.SCHEDULE_MIN_INTERVAL_S)
    interval = schedule_min_interval_s(strategy.schedule_cron) if new_schedule else None
    if interval is not None and interval < allowed_s:
        raise StrategyLimitError(
            f"schedule {strategy.schedule_cron!r} fires every {interval:g} s at its shortest; "
            f"{MIN_INTERVAL} allows at least {allowed_s:g} s between two runs of a strategy",
            setting=MIN_INTERVAL,
            field="schedule_cron",
        )
    if not becoming_active:
        return
    most = settings.STRATEGIES_MAX_ACTIVE_PER_USER
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=owner.pk).first()
        others = Strategy.objects.filter(owner=owner, is_active=True).exclude(pk=strategy.pk)
        active = others.count()
    if active >= most:
        raise StrategyLimitError(
            f"{owner} already has {active} active strategies; {MAX_ACTIVE} allows {most} per "
            "user: deactivate one first",
            setting=MAX_ACTIVE,
            field="is_active",
        )
