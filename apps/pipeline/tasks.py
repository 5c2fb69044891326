"""Celery entry points for runs and schedules: each loads ids and calls a service.

Runs are never lost between the database and the queue: a run is created pending and sent
after commit; a send that fails (Redis down) leaves it pending, and beat's pass sends pending
runs whose task never started again, or expires them (``apps.pipeline.recovery``).
"""

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from celery import current_app, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from apps.lineage.models import Run, RunStatus
from apps.lineage.services import (
    run_crash,
    run_note_start_failure,
    runs_mark_abandoned,
    runs_mark_enqueued,
)
from apps.pipeline.cleanup import records_prune
from apps.pipeline.daily_summary import daily_summaries_notify
from apps.pipeline.dispatch import dispatch_due
from apps.pipeline.executor import run_ended_followups, run_execute
from apps.pipeline.recovery import pending_runs_review
from apps.strategies.schedule import schedules_refresh

logger = logging.getLogger(__name__)
T = TypeVar("T")
RUNS_QUEUE = "runs"


def _drop_broken_connection(_: RetryCallState) -> None:
    """Close the failed database connection so the next attempt opens a fresh one (outside a
    transaction only: inside one, closing would lose the caller's work)."""
    if not connection.in_atomic_block:
        connection.close()


def with_database_retry(call: Callable[[], T]) -> T:
    """Return ``call()``, retrying it while the database is unreachable (``OperationalError``,
    ``InterfaceError``): ``RUNS_DB_RETRY_ATTEMPTS`` attempts, waits doubling from
    ``RUNS_DB_RETRY_INITIAL_S`` up to ``RUNS_DB_RETRY_MAX_S`` seconds (tenacity).

    Raises the last database error once the attempts are spent, and any other error at once.
    """
    retrying = Retrying(
        retry=retry_if_exception_type((OperationalError, InterfaceError)),
        wait=wait_exponential(
            multiplier=settings.RUNS_DB_RETRY_INITIAL_S, max=settings.RUNS_DB_RETRY_MAX_S
        ),
        stop=stop_after_attempt(settings.RUNS_DB_RETRY_ATTEMPTS),
        before_sleep=_drop_broken_connection,
        reraise=True,
    )
    return retrying(call)


def _note_start_failure(run_id: int, error: Exception) -> None:
    """Leave the error that kept a worker from starting the run on the (still pending) run,
    if the database answers; the pending-run pass sends the run again or expires it."""
    message = f"{type(error).__name__}: {error}"
    try:
        run_note_start_failure(run_id=run_id, error_message=message)
    except (OperationalError, InterfaceError):
        logger.warning("run %s: could not record start failure %s", run_id, message)


@shared_task(name="apps.pipeline.tasks.execute_run")
def execute_run(run_id: int) -> str:
    """Execute one pending run (id); returns its final status, or ``missing`` when there is no
    such run. A run that is no longer pending is left alone (idempotent: a second delivery of
    the same run executes nothing).

    Before the run is claimed, an unreachable database is retried with backoff
    (``with_database_retry``); if it stays unreachable, or anything else fails before the
    claim, the error is noted on the pending run when the database answers and re-raised —
    the run stays pending for the pending-run pass, never acknowledged and forgotten. An error
    escaping after this worker claimed the run (one the executor could not record, e.g. the
    database dropped mid-step) fails the run and its unfinished step with it (``run_crash``),
    which counts and notifies as any failed run (``run_ended_followups``).
    """
    try:
        run = with_database_retry(lambda: Run.objects.get(pk=run_id))
    except Run.DoesNotExist:
        logger.warning("run %s does not exist (pruned?): nothing to execute", run_id)
        return "missing"
    except Exception as error:
        _note_start_failure(run_id, error)
        raise
    try:
        return str(run_execute(run=run).status)
    except Exception as error:
        # run_start sets the status on this instance only when this worker claimed the run.
        if run.status == RunStatus.PENDING:
            _note_start_failure(run_id, error)
            raise
        if with_database_retry(partial(run_crash, run=run, error=error)):
            run_ended_followups(run)  # a crashed run is a failed run: it counts and notifies
        return str(run.status)


def runs_send(run_ids: list[int]) -> int:
    """Send ``execute_run`` for each run id to the ``runs`` queue, in order; returns how many
    were sent. Sent runs get ``enqueued_at`` now and one more ``enqueue_count``.

    A send that fails (Redis down or unreachable, after kombu's own short retries) stops the
    batch: the rest would fail the same way, each after its own retries. The unsent runs stay
    pending and are sent by the pending-run pass once Redis is back; nothing is raised.
    """
    sent: list[int] = []
    for run_id in run_ids:
        try:
            # The outcome is the run's lineage: no result to wait for (and no result
            # subscription to open against a Redis that may be down).
            execute_run.apply_async(args=(run_id,), ignore_result=True)
        except Exception:
            logger.exception(
                "could not send run %s (%d unsent): left pending for the pending-run pass",
                run_id,
                len(run_ids) - len(sent),
            )
            break
        sent.append(run_id)
    if sent:
        with_database_retry(lambda: runs_mark_enqueued(run_ids=sent, at=timezone.now()))
    return len(sent)


def enqueue_runs(run_ids: list[int]) -> None:
    """Send runs to the ``runs`` queue once the transaction that created them has committed
    (``runs_send``: a failed send leaves them pending for the pending-run pass)."""
    transaction.on_commit(lambda: runs_send(run_ids))


def runs_queue_depth() -> int:
    """How many messages wait in the ``runs`` queue (Redis: the lengths of its lists).

    Raises the broker's connection error when Redis is unreachable."""
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        # kombu's stubs type the channel abstractly; the transport's channel declares queues.
        channel: Any = conn.default_channel
        return int(channel.queue_declare(queue=RUNS_QUEUE).message_count)


def pending_runs_recover() -> dict[str, int]:
    """Beat's pending-run pass: expire pending runs too old to run, and send the others whose
    task has not started within ``RUNS_PENDING_GRACE_S`` again — but only while the ``runs``
    queue is empty: a waiting message may be theirs (a backlog, not a loss), and sending
    every queued run again each pass would flood the queue. Returns ``{"resent", "expired"}``.
    """
    review = pending_runs_review(
        now=timezone.now(),
        grace=timedelta(seconds=settings.RUNS_PENDING_GRACE_S),
        manual_max_wait=timedelta(seconds=settings.RUNS_MANUAL_MAX_WAIT_S),
    )
    outcome = {"resent": 0, "expired": len(review.expired_run_ids)}
    if not review.resend_run_ids:
        return outcome
    try:
        waiting = runs_queue_depth()
    except Exception:
        logger.exception("broker unreachable: %d pending runs wait", len(review.resend_run_ids))
        return outcome
    if waiting:
        logger.info("runs queue holds %d messages: pending runs are sent once it drains", waiting)
        return outcome
    outcome["resent"] = runs_send(review.resend_run_ids)
    return outcome


@shared_task(name="apps.pipeline.tasks.dispatch_due_strategies")
def dispatch_due_strategies() -> dict[str, int]:
    """Beat's pass (every 15 s): mark runs whose worker died abandoned, claim due slots and
    enqueue their runs, then recover pending runs whose task never started (send them again
    or expire them). Returns counts: ``claimed``, ``skipped``, ``resent``, ``expired``."""
    # A run whose heartbeat is older than the hard time limit has lost its worker.
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    runs_mark_abandoned(older_than=stale)
    report = dispatch_due()
    enqueue_runs(report.claimed_run_ids)
    return {
        "claimed": len(report.claimed_run_ids),
        "skipped": report.skipped,
        **pending_runs_recover(),
    }


@shared_task(name="apps.pipeline.tasks.recalculate_schedules")
def recalculate_schedules() -> int:
    """Recompute every active strategy's next slot (beat: hourly)."""
    return schedules_refresh()


@shared_task(name="apps.pipeline.tasks.cleanup_old_records")
def cleanup_old_records() -> dict[str, int]:
    """Prune finished runs and terminal orders past ``RETENTION_DAYS`` (beat: weekly)."""
    return asdict(records_prune(now=timezone.now(), retention_days=settings.RETENTION_DAYS))


@shared_task(name="apps.pipeline.tasks.daily_summaries_send", ignore_result=True)
def daily_summaries_send() -> int:
    """Beat, at NOTIFY_DAILY_SUMMARY_AT (UTC): each subscribed user's daily summary
    (``apps.pipeline.daily_summary``); returns how many users were notified."""
    return daily_summaries_notify(now=timezone.now())
