"""A Redis server process a fault test starts, stops and restarts itself on its own port, and
pointing this process's Celery app at it (broker and result backend)."""

import base64
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from celery_app import app


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


class RedisServer:
    """``redis-server`` on a free loopback port with its files in ``directory`` and the
    command-line ``options`` given — by default none that persist (no RDB snapshot, no AOF), as
    the drills' Redis: a stop drops every queued message."""

    def __init__(self, *, directory: Path, options: tuple[str, ...] = NO_PERSISTENCE) -> None:
        self.port = free_port()
        self.directory = directory
        self.options = options
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server; return once it answers PING (AssertionError after 10 s)."""
        self.process = subprocess.Popen(
            [
                *("redis-server", *self.options),
                *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.02)
        client.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _forget_connections() -> None:
    # The app caches its broker pool, producer pool and result backend per configuration;
    # drop them so the next use connects to the configured URLs.
    vars(app).update(_pool=None, _backend_cache=None, _local=threading.local())
    vars(app.amqp)["_producer_pool"] = None


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app (broker and result backend) at ``url`` for the block."""
    before = {
        "broker_url": app.conf.broker_url,
        "result_backend": app.conf.result_backend,
        "task_always_eager": app.conf.task_always_eager,
    }
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _forget_connections()
    try:
        yield
    finally:
        app.conf.update(before)
        _forget_connections()


def queued_run_ids(client: redis.Redis) -> list[int]:
    """Run ids of the ``execute_run`` messages waiting in the ``runs`` queue (kombu's Redis
    format: a JSON envelope whose body is base64 JSON ``[args, kwargs, embed]``)."""
    ids = []
    for raw in client.lrange("runs", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "apps.pipeline.tasks.execute_run"
        ids.append(json.loads(base64.b64decode(message["body"]))[0][0])
    return sorted(ids)
