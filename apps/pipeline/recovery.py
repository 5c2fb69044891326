"""Pending runs whose task never started: sent again, or expired when too old to run.

A run is created ``pending`` and its task is sent to the ``runs`` queue after the creating
transaction commits. That message can be lost between the two: Redis restarted without
persistence, a publish failed while Redis was down, the dispatcher died between commit and
publish, or a worker failed before claiming the run and acknowledged the message. Beat's pass
(``apps.pipeline.tasks.dispatch_due_strategies``) looks at pending runs whose task was last sent
— or, never sent, that were created — more than ``RUNS_PENDING_GRACE_S`` ago and decides for
each, by its strategy's catch-up policy, whether it may still run (sent again) or is too old to
trade (``expired`` with the reason). Sending a run twice is safe: a worker executes a run only
after moving it from pending to running with a conditional update (``run_start``).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from apps.lineage.models import Run, RunStatus, RunTrigger
from apps.lineage.services import runs_expire
from apps.pipeline.dispatch import ON_TIME
from apps.strategies.models import CatchUp
from apps.strategies.schedule import next_slot_after


@dataclass(frozen=True)
class PendingRun:
    """A pending run with what deciding its fate needs: its trigger, slot (None for manual and
    API runs), creation time, how often its task was sent, the note a failed start left on it,
    and its strategy's schedule, catch-up policy and active flag. Times are tz-aware UTC."""

    pk: int
    trigger: str
    scheduled_for: datetime | None
    created_at: datetime
    enqueue_count: int
    start_failure: str
    cron: str
    timezone: str
    catch_up: str
    strategy_active: bool


@dataclass
class PendingReview:
    """Runs to send again, and the ids of runs expired by this review."""

    resend_run_ids: list[int] = field(default_factory=list)
    expired_run_ids: list[int] = field(default_factory=list)


def _why_too_old(run: PendingRun, now: datetime, manual_max_wait: timedelta) -> str:
    """Why ``run`` may no longer start at ``now``; empty when it still may."""
    if run.trigger != RunTrigger.SCHEDULE or run.scheduled_for is None:
        if now - run.created_at > manual_max_wait:
            return f"not started within {manual_max_wait.total_seconds():g} s of its request"
        return ""
    slot = run.scheduled_for
    if not run.strategy_active:
        return "strategy deactivated before the scheduled run started"
    if run.catch_up == CatchUp.NONE and now - slot > ON_TIME:
        return "missed slot (catch_up: none): not started within 60 s of its slot"
    upcoming = next_slot_after(run.cron, run.timezone, slot)
    if now >= upcoming:
        return f"not started before the next slot ({upcoming.isoformat()}): too old to trade"
    return ""


def pending_run_expiry_reason(*, run: PendingRun, now: datetime, manual_max_wait: timedelta) -> str:
    """The reason ``run`` (pending, its task lost) must be expired at ``now`` (tz-aware UTC),
    or an empty string when it may still run and should be sent again.

    Rules (scheduling spec, "Pending runs that never started"):
    - a manual or API run may start until ``manual_max_wait`` after it was requested;
    - a scheduled run of a strategy deactivated since is expired;
    - a scheduled run of a ``catch_up: none`` strategy may start while its slot is on time
      (``ON_TIME``, 60 s), as the dispatcher decides for missed slots;
    - any other scheduled run may start until the strategy's next slot after its own: one
      schedule interval, after which the next slot's run supersedes it.
    The reason says how often the task was sent and, if a worker left one, its start failure.
    """
    why = _why_too_old(run, now, manual_max_wait)
    if not why:
        return ""
    sent = f"task sent {run.enqueue_count} time(s), never started"
    failure = f"; last start failure: {run.start_failure}" if run.start_failure else ""
    return f"{why}; {sent}{failure}"


def pending_runs_unstarted(*, sent_before: datetime, limit: int) -> list[PendingRun]:
    """Up to ``limit`` pending runs, oldest first, whose task was last sent before
    ``sent_before`` (tz-aware UTC) — or that were never sent and were created before it."""
    lost = Q(enqueued_at__lt=sent_before) | Q(enqueued_at=None, created_at__lt=sent_before)
    rows = (
        Run.objects.filter(lost, status=RunStatus.PENDING)
        .order_by("created_at", "pk")
        .values_list(
            "pk",
            "trigger",
            "scheduled_for",
            "created_at",
            "enqueue_count",
            "error_message",
            "strategy__schedule_cron",
            "strategy__schedule_timezone",
            "strategy__catch_up",
            "strategy__is_active",
        )[:limit]
    )
    return [PendingRun(*row) for row in rows]


def pending_runs_review(
    *, now: datetime, grace: timedelta, manual_max_wait: timedelta, limit: int = 20000
) -> PendingReview:
    """Find pending runs whose task has not started within ``grace`` of being sent (or created)
    at ``now`` (tz-aware UTC); expire those too old to run (``pending_run_expiry_reason``) and
    return the others' ids for the caller to send again.

    A run a worker claims meanwhile is neither expired nor returned as expired (the expiry is a
    conditional update); sending one that has just started again is harmless (``run_start``).
    """
    review = PendingReview()
    reasons: dict[int, str] = {}
    for run in pending_runs_unstarted(sent_before=now - grace, limit=limit):
        reason = pending_run_expiry_reason(run=run, now=now, manual_max_wait=manual_max_wait)
        if reason:
            reasons[run.pk] = reason
        else:
            review.resend_run_ids.append(run.pk)
    review.expired_run_ids = runs_expire(reasons=reasons, at=now)
    return review
