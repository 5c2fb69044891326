"""Helpers for tests that make two PostgreSQL sessions meet on a row lock."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, connections


def sessions_waiting_on_a_lock() -> int:
    """How many sessions of the test database wait on a lock (``pg_stat_activity``)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def someone_waits_on_a_lock() -> bool:
    """Whether any session of the test database is waiting on a lock (``pg_stat_activity``)."""
    return sessions_waiting_on_a_lock() > 0


@contextmanager
def release_once_someone_waits(release: threading.Event, timeout_s: float = 10) -> Iterator[None]:
    """While the body runs, a thread sets ``release`` as soon as a session waits on a lock (or
    after ``timeout_s``), so a holder waiting on ``release`` commits only once the body's
    statement is blocked behind it; ``release`` is set and the thread joined on the way out."""

    def set_once_someone_waits() -> None:
        deadline = time.monotonic() + timeout_s
        try:
            while not someone_waits_on_a_lock() and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            release.set()
            connections.close_all()

    watcher = threading.Thread(target=set_once_someone_waits)
    watcher.start()
    try:
        yield
    finally:
        release.set()
        watcher.join()
