"""gunicorn settings for the web process (``gunicorn -c config/gunicorn.py``).

Command-line flags (bind, workers) still apply; this file adds the Prometheus multiprocess
hook: with ``PROMETHEUS_MULTIPROC_DIR`` set, each worker writes its metrics to files there,
and a worker that exits has its live gauges' files marked dead
(https://prometheus.github.io/client_python/multiprocess/), so a restarted worker's gauges
are not summed with the new one's. Counters and histograms of exited workers are kept: they
are totals.
"""

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the arbiter after a worker exited: mark its metrics files dead."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
