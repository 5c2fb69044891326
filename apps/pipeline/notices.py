"""Notifications about runs: a live run (manual, scheduled, API) that failed tells its
strategy's owner. Backtest and replay runs tell nobody (their report shows failures)."""

import logging

from django.db import transaction

from apps.lineage.models import EVALUATION_TRIGGERS, Run, RunStatus
from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.strategies.models import Strategy

logger = logging.getLogger(__name__)


def run_failed_notify(run: Run) -> None:
    """When ``run`` (as it ended) failed and is not an evaluation run, tell the strategy's owner
    (none: the operator) which step failed and why. Never raises (the run is recorded)."""
    if run.status != RunStatus.FAILED or run.trigger in EVALUATION_TRIGGERS:
        return
    try:
        with transaction.atomic():
            owner_id, name = (
                Strategy.objects.filter(pk=run.strategy_id).values_list("owner_id", "name").get()
            )
            notify(
                NotificationEvent.RUN_FAILED,
                users=[owner_id],
                title=f"Run {run.pk} of {name} failed",
                body=(
                    f"The {run.trigger} run {run.pk} of strategy {name} (as of "
                    f"{run.as_of:%Y-%m-%d %H:%M} UTC) failed: {run.error_message}"
                ),
                key=f"run:{run.pk}",
            )
    except Exception:
        logger.exception("run-failed notification of run %s", run.pk)
