"""Claiming due schedule slots: each (strategy, slot) becomes exactly one run.

Two guards make a slot run once however many dispatchers or beats there are: due strategy rows
are locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (a second dispatcher passes over them and
then finds ``next_run_at`` moved on), and the run row is unique on (strategy, scheduled_for),
inserted with ``ON CONFLICT DO NOTHING`` as the last word.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.lineage.models import RunStatus
from apps.lineage.services import SlotRun, runs_claim_slots
from apps.strategies.live_trading import TRADE_LIVE, live_traders
from apps.strategies.models import CatchUp, Strategy, TradingMode
from apps.strategies.schedule import schedules_refresh, slots_at
from apps.symbols.calendars import has_session_on

# A slot is "on time" while the dispatcher reaches it within this delay; older slots are
# missed slots, which ``catch_up: none`` skips.
ON_TIME = timedelta(seconds=60)
INSERT_BATCH = 1000


@dataclass
class DispatchReport:
    """Runs claimed for execution, and slots recorded as skipped (market closed, missed)."""

    claimed_run_ids: list[int] = field(default_factory=list)
    skipped: int = 0


@dataclass(frozen=True)
class _Due:
    """A due strategy, as the few columns dispatching needs (no model instances: 10k+ rows)."""

    pk: int
    cron: str
    timezone: str
    catch_up: str
    skip_closed_market: bool
    trading_calendar: str
    trading_mode: str
    owner_id: int | None


@dataclass(frozen=True)
class _Claim:
    strategy_id: int
    slot: datetime
    status: str
    reason: str


def _claim_for(due: _Due, slot: datetime, now: datetime, traders: set[int]) -> _Claim:
    if due.trading_mode == TradingMode.LIVE and due.owner_id not in traders:
        # Its order step would refuse it anyway (apps.strategies.live_trading), after a paid
        # model call: skip the slot, saying why, until the permission is granted again.
        reason = f"live trading not allowed: the owner does not hold {TRADE_LIVE}"
        return _Claim(due.pk, slot, RunStatus.SKIPPED, reason)
    if due.catch_up == CatchUp.NONE and now - slot > ON_TIME:
        return _Claim(due.pk, slot, RunStatus.SKIPPED, "missed slot (catch_up: none)")
    if due.skip_closed_market and not has_session_on(
        trading_calendar=due.trading_calendar, moment=slot
    ):
        return _Claim(due.pk, slot, RunStatus.SKIPPED, "exchange closed")
    return _Claim(due.pk, slot, RunStatus.PENDING, "")


def _advance(next_slots: dict[datetime, list[int]]) -> None:
    """One UPDATE per distinct next slot (strategies sharing a schedule share it)."""
    for upcoming, ids in next_slots.items():
        for start in range(0, len(ids), INSERT_BATCH * 10):
            Strategy.objects.filter(pk__in=ids[start : start + INSERT_BATCH * 10]).update(
                next_run_at=upcoming
            )


def dispatch_due(*, now: datetime | None = None, limit: int = 20000) -> DispatchReport:
    """Claim every due slot of active strategies as of ``now`` (default: the current time).

    For each due strategy (``next_run_at`` ≤ now) the latest slot at or before now becomes a
    run — pending, or skipped with a reason — and ``next_run_at`` moves to the next slot after
    now, so missed slots never pile up. A live strategy whose owner does not hold
    ``strategies.trade_live`` (revoked since it was activated, or ownerless) has its slot
    skipped with that reason: its order step would refuse it after a paid model call.
    Strategies without ``next_run_at`` are scheduled, not run.
    Returns the pending runs' ids for the caller to enqueue after commit.
    """
    now = now or timezone.now()
    slots = slots_at(now)
    report = DispatchReport()
    with transaction.atomic():
        rows = (
            Strategy.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(is_active=True, next_run_at__lte=now)
            .order_by("next_run_at")
            .values_list(
                "pk",
                "schedule_cron",
                "schedule_timezone",
                "catch_up",
                "skip_closed_market",
                "symbol__trading_calendar",
                "trading_mode",
                "owner_id",
            )[:limit]
        )
        dues = [_Due(*row) for row in rows]
        traders = live_traders(
            user_ids={d.owner_id for d in dues if d.trading_mode == TradingMode.LIVE and d.owner_id}
        )
        claims: list[_Claim] = []
        next_slots: dict[datetime, list[int]] = {}
        for due in dues:
            latest, upcoming = slots(due.cron, due.timezone)
            claims.append(_claim_for(due, latest, now, traders))
            next_slots.setdefault(upcoming, []).append(due.pk)
        _advance(next_slots)
        slot_runs = [SlotRun(c.strategy_id, c.slot, c.status, c.reason) for c in claims]
        for run_id, status in runs_claim_slots(slot_runs=slot_runs, now=now):
            if status == RunStatus.PENDING:
                report.claimed_run_ids.append(run_id)
            else:
                report.skipped += 1
    schedules_refresh(now=now, only_missing=True)
    return report
