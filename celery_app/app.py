"""The Celery application: Redis broker, JSON messages, UTC, late acks, time limits, queues.

Queues (see openspec/specs/scheduling/spec.md for why):
- ``runs``: strategy runs (data → order). Runs spend most of their wall time waiting on the
  model endpoint and the broker, and their CPU-heavy part (chart PNG) runs inside Chromium,
  outside the Python process, so this queue is served by a *threads* pool with high concurrency.
- ``control``: beat's periodic jobs (dispatch, monitor, retry, cleanup): short, prefork.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sibyl")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("runs"), Queue("control"))
app.conf.task_default_queue = "control"
app.conf.task_routes = {"apps.pipeline.tasks.execute_run": {"queue": "runs"}}
app.autodiscover_tasks()
