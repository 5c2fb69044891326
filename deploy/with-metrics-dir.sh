#!/bin/sh
# Run a Sibyl process group (gunicorn, a Celery worker) with a Prometheus multiprocess
# directory of its own: $METRICS_MULTIPROC_ROOT/<container hostname>, emptied first. The web
# process's /metrics merges every directory under METRICS_MULTIPROC_ROOT (a volume shared by
# the containers), so a scrape of the web app shows every process's counters. One directory
# per container: process ids repeat across containers and must not share a file.
set -eu
: "${METRICS_MULTIPROC_ROOT:?set METRICS_MULTIPROC_ROOT}"
PROMETHEUS_MULTIPROC_DIR="$METRICS_MULTIPROC_ROOT/$(hostname)"
export PROMETHEUS_MULTIPROC_DIR
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
exec "$@"
