"""The Celery application: Redis broker, JSON messages, UTC, late acks, time limits, queues.

Queues (see openspec/specs/scheduling/spec.md for why):
- ``runs``: strategy runs (data → order), and backtest variants (each runs its slots' runs).
  Runs spend most of their wall time waiting on the
  model endpoint and the broker, and their CPU-heavy part (chart PNG) runs inside Chromium,
  outside the Python process, so this queue is served by a *threads* pool with high concurrency.
- ``control``: beat's periodic jobs (dispatch, monitor, retry, schedules, cleanup, prompt
  performance): short, prefork.
- ``notifications``: one task per notification delivery (apprise: waits on the network, never
  on trading); served by the threads pool of the runs worker, never by ``control`` (one
  process: a slow notification service would delay order monitoring).
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sibyl")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("runs"), Queue("control"), Queue("notifications"))
app.conf.task_default_queue = "control"
app.conf.task_routes = {
    "apps.pipeline.tasks.execute_run": {"queue": "runs"},
    "apps.evaluation.tasks.backtest_variant_run": {"queue": "runs"},
    "apps.notifications.tasks.notification_deliver": {"queue": "notifications"},
}
app.autodiscover_tasks()

# Only one beat may run at a time (Celery's periodic-tasks guide); the dispatcher is safe even
# if two do, because slots are claimed atomically. The dispatch pass also reaps abandoned runs
# and sends pending runs whose task never started again, or expires them (no run is lost).
app.conf.beat_schedule = {
    "dispatch-due-strategies": {
        "task": "apps.pipeline.tasks.dispatch_due_strategies",
        "schedule": 15.0,
    },
    "monitor-active-orders": {"task": "apps.orders.tasks.monitor_active_orders", "schedule": 60.0},
    "expire-approvals": {"task": "apps.orders.tasks.expire_approvals", "schedule": 30.0},
    "retry-failed-orders": {"task": "apps.orders.tasks.retry_failed_orders", "schedule": 600.0},
    "close-before-session-end": {
        "task": "apps.orders.tasks.close_before_session_end",
        "schedule": 60.0,
    },
    "recalculate-schedules": {
        "task": "apps.pipeline.tasks.recalculate_schedules",
        "schedule": crontab(minute=7),
    },
    "cleanup-old-records": {
        "task": "apps.pipeline.tasks.cleanup_old_records",
        "schedule": crontab(minute=0, hour=4, day_of_week="sun"),
    },
    "cleanup-old-backtests": {
        "task": "apps.evaluation.tasks.cleanup_old_backtests",
        "schedule": crontab(minute=30, hour=4, day_of_week="sun"),
    },
    "notifications-requeue": {
        "task": "apps.notifications.tasks.notifications_requeue",
        "schedule": 60.0,
    },
    "notifications-daily-summary": {
        "task": "apps.pipeline.tasks.daily_summaries_send",
        "schedule": crontab(
            hour=settings.NOTIFY_DAILY_SUMMARY_AT.split(":")[0],
            minute=settings.NOTIFY_DAILY_SUMMARY_AT.split(":")[1],
        ),
    },
    "prompt-performance": {
        "task": "apps.analysis.tasks.prompt_performance",
        "schedule": crontab(minute=30, hour=5),
    },
}


@worker_process_shutdown.connect
def _metrics_process_dead(pid: int | None = None, **_: object) -> None:
    """A prefork child exits: mark its Prometheus live-gauge files dead (multiprocess mode,
    ``PROMETHEUS_MULTIPROC_DIR`` set; see config/gunicorn.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@worker_ready.connect
@worker_process_init.connect
def _warm_chart_renderer(**_: object) -> None:
    """Start the chart renderer's Chromium before the first run needs it (seconds, once).

    Workers that take runs set SIBYL_WARM_CHARTS=1 (see Procfile); others skip it.
    """
    if os.environ.get("SIBYL_WARM_CHARTS") == "1":
        from apps.marketdata.charts import png_renderer

        png_renderer()
