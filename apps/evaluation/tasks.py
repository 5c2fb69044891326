"""Celery entry points for backtests: one task per variant on the ``runs`` queue.

A parallel backtest (``backtest_start``) sends one ``backtest_variant_run`` per variant; the
variants run side by side on the workers, while one variant's slots follow each other in time
(its runs advance one paper account). A task runs slots for at most ``BACKTEST_TASK_SLICE_S``
seconds and then sends itself again to continue, so that no task outlives the runs' Celery
time limits (one slice plus one run, itself bounded by ``RUN_TIME_BUDGET_S``, stays under
``CELERY_TASK_SOFT_TIME_LIMIT``) nor Redis's visibility timeout. A message delivered twice
costs nothing: a run is unique per (strategy, slot), and a task that finds a slot created
or still running by another stops there (``VariantOutcome.TAKEN``) and looks again
``TAKEN_RETRY_S`` later, until the variant is done — so a slot whose run was left running by
a dead worker (redelivered message) continues once beat's reaper marks that run abandoned.
"""

import logging
import time
from dataclasses import asdict

from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.common.errors import SibylError
from apps.evaluation.models import Backtest, BacktestStatus, BacktestVariant
from apps.evaluation.retention import backtests_prune
from apps.evaluation.services import (
    VariantOutcome,
    backtest_dispatch_failed,
    backtest_mark_running,
    backtest_reopen,
    backtest_variant_run,
)

logger = logging.getLogger(__name__)
TAKEN_RETRY_S = 5  # a variant held by another task's (or a dead worker's) run: look again
QUEUE_CHECK_TIMEOUT_S = 2


class TaskQueueUnavailableError(SibylError):
    """The Celery broker (Redis) does not answer, so a backtest cannot be started: nothing was
    created or changed; try again once it is back. The API answers 503."""

    http_status = 503


def task_queue_check() -> None:
    """Connect to the Celery broker once (``QUEUE_CHECK_TIMEOUT_S``, one retry).

    Raises ``TaskQueueUnavailableError`` when it cannot be reached, so that a caller refuses
    before it records anything rather than leaving a backtest ``running`` with no task sent."""
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=1, timeout=QUEUE_CHECK_TIMEOUT_S
            )
    except Exception as error:  # kombu's OperationalError, a socket error, a timeout
        raise TaskQueueUnavailableError(
            f"the task queue is unreachable ({error}): try again once it is back"
        ) from error


@shared_task(name="apps.evaluation.tasks.backtest_variant_run")
def backtest_variant_run_task(variant_id: int) -> str:
    """Run one slice of a backtest variant's remaining slots (id); returns the
    ``VariantOutcome`` (``paused``: the task was sent again to continue; ``taken``: sent again
    ``TAKEN_RETRY_S`` later), or ``missing`` when there is no such variant."""
    variant = (
        BacktestVariant.objects.select_related("backtest", "clone__symbol", "account")
        .filter(pk=variant_id)
        .first()
    )
    if variant is None:
        logger.warning("backtest variant %s does not exist: nothing to run", variant_id)
        return "missing"
    deadline = time.monotonic() + settings.BACKTEST_TASK_SLICE_S
    outcome = backtest_variant_run(variant, deadline=deadline)
    if outcome == VariantOutcome.PAUSED:
        backtest_variant_run_task.apply_async(args=(variant_id,), ignore_result=True)
    elif outcome == VariantOutcome.TAKEN:
        # another task is on the variant, or a dead worker's run awaits the reaper: look again
        backtest_variant_run_task.apply_async(
            args=(variant_id,), countdown=TAKEN_RETRY_S, ignore_result=True
        )
    return outcome


def backtest_start(backtest: Backtest) -> int:
    """Start (or resume) ``backtest`` in parallel: mark it running and send one
    ``backtest_variant_run`` per variant not yet done to the ``runs`` queue once the current
    transaction commits. Returns how many tasks are sent (0 when the backtest is already
    ``done`` or ``cancelled``).

    Raises ``TaskQueueUnavailableError`` (nothing changed) when the broker does not answer
    before; when it goes away between that check and the send, the backtest becomes ``failed``
    with that reason (``backtest_dispatch_failed``) and can be resumed."""
    task_queue_check()
    if not backtest_mark_running(backtest):
        return 0
    variant_ids = list(
        backtest.variants.exclude(status=BacktestStatus.DONE).values_list("pk", flat=True)
    )

    def send() -> None:
        try:
            for variant_id in variant_ids:
                backtest_variant_run_task.apply_async(args=(variant_id,), ignore_result=True)
        except Exception as error:  # the broker went away after the check
            logger.exception("backtest %s: its variants could not be sent", backtest.pk)
            backtest_dispatch_failed(backtest, error)

    transaction.on_commit(send)
    return len(variant_ids)


def backtest_resume(backtest: Backtest) -> int:
    """Resume a ``failed`` or ``cancelled`` ``backtest`` in parallel (reopened, then
    ``backtest_start``): only the slots without a run yet run, none twice. A ``pending`` or
    ``running`` one is started again (a task that finds its slot taken stops there). Returns
    how many variant tasks are sent (0 for a ``done`` backtest). Raises
    ``TaskQueueUnavailableError`` (nothing changed) when the broker does not answer."""
    task_queue_check()
    backtest_reopen(backtest)
    return backtest_start(backtest)


@shared_task(name="apps.evaluation.tasks.cleanup_old_backtests")
def cleanup_old_backtests() -> dict[str, int]:
    """Prune backtests final for more than ``RETENTION_DAYS``, each whole (beat: weekly, with
    the runs' cleanup)."""
    return asdict(backtests_prune(now=timezone.now(), retention_days=settings.RETENTION_DAYS))
