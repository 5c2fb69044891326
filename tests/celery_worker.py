"""A real Celery worker process on the test database, for tests that go through the queue."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from celery_app import app


def tests_database_url() -> str:
    """The ``DATABASE_URL`` of the database this test runs on (pytest-django's test database)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


@contextmanager
def celery_worker(
    *,
    name: str,
    llm_base_url: str = "",
    queues: str = "runs",
    concurrency: int = 2,
    broker_url: str | None = None,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``celery worker`` (threads pool) on ``queues`` against the test database (or
    ``database_url``) and Redis (or ``broker_url``, which this process's app must use too: it
    pings the worker), with the model at ``llm_base_url`` (empty: the baseline analyst) and
    ``extra_env`` settings; yield it once it answers a ping; kill its process group on exit.

    Raises ``AssertionError`` when the worker does not answer within 60 s."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url or tests_database_url(),
        "LLM_BASE_URL": llm_base_url,
        "LLM_API_KEY": "test",
        "MEDIA_ROOT": settings.MEDIA_ROOT,
        **({"REDIS_URL": broker_url} if broker_url else {}),
        **(extra_env or {}),
    }
    hostname = f"{name}{os.getpid()}"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "celery", "-A", "celery_app", "worker"),
            *("--queues", queues, "--pool", "threads", "--concurrency", str(concurrency)),
            *("--hostname", f"{hostname}@%h", "--without-gossip", "--without-mingle"),
            *("--loglevel", "WARNING"),
        ],
        env=env,
        cwd=settings.BASE_DIR,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[f"{hostname}@{os.uname().nodename}"], timeout=0.5):
            assert process.poll() is None, f"worker exited with {process.returncode}"
            assert time.monotonic() < deadline, "worker did not start"
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
