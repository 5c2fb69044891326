"""``GET /metrics``: the Prometheus text exposition of every Sibyl metric.

What it holds: django-prometheus's request (and, with its database wrapper, query) metrics,
the domain counters and histograms of ``apps.common.metrics`` and the scrape-time gauges of
``apps.observability.collectors``.

Across processes (``prometheus_client``'s multiprocess mode): each process group (the web's
gunicorn workers, a Celery worker and its children) runs with ``PROMETHEUS_MULTIPROC_DIR``
set to a directory of its own, and the web process has ``METRICS_MULTIPROC_ROOT`` set to the
directory holding them all: a scrape merges the files of every directory under it (and of its
own ``PROMETHEUS_MULTIPROC_DIR``), so counters and histograms are totals over every process
on the host or shared volume. One directory per group (not one for all) lets each group empty
its own at start, and keeps containers, whose process ids repeat, from sharing a file. With
neither set (the demo, the tests) the metrics are this process's own.
"""

import os
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from apps.observability.access import scrape_refusal
from apps.observability.collectors import StateCollector


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: the multiprocess files' metrics (when
    ``PROMETHEUS_MULTIPROC_DIR`` is set) or this process's default registry, plus the
    database and Redis gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    if metrics_files_dirs():
        registry.register(_FilesCollector())
    else:
        registry.register(_DefaultRegistry())
    registry.register(StateCollector())
    return registry


def metrics_files_dirs() -> list[Path]:
    """The multiprocess directories a scrape reads: ``PROMETHEUS_MULTIPROC_DIR`` and
    ``METRICS_MULTIPROC_ROOT`` (with every directory under it), those that are set."""
    dirs = [
        Path(value)
        for value in (os.environ.get("PROMETHEUS_MULTIPROC_DIR"), settings.METRICS_MULTIPROC_ROOT)
        if value
    ]
    return dirs


class _FilesCollector:
    """Every process's metrics from the ``*.db`` files of ``metrics_files_dirs()``, merged
    (counters and histograms summed; ``prometheus_client.multiprocess``)."""

    def collect(self) -> Iterable[Metric]:
        """The merged metric families, read now."""
        files: set[str] = set()
        for directory in metrics_files_dirs():
            # resolved: the web's own directory is also under the root, and a relative and an
            # absolute spelling of one file must not count it twice
            files.update(str(path.resolve()) for path in directory.glob("**/*.db"))
        return MultiProcessCollector.merge(sorted(files), accumulate=True)


class _DefaultRegistry:
    """The process's default registry as one collector (so a fresh registry can hold it)."""

    def collect(self) -> Iterable[Metric]:
        """Every metric family of ``prometheus_client.REGISTRY``."""
        return REGISTRY.collect()


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The exposition (text format 0.0.4), or 401/403 as ``access.scrape_refusal`` decides."""
    refusal = scrape_refusal(request)
    if refusal is not None:
        response = HttpResponse(
            refusal.reason + "\n", status=refusal.status, content_type="text/plain"
        )
        if refusal.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
