"""Redis as docker-compose.yml runs it keeps queued runs across a restart (append-only file on
a volume): a restart of Redis must not drop the runs waiting in the queue."""

from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from django.conf import settings
from django.utils import timezone

from apps.lineage.services import run_create
from apps.pipeline.tasks import runs_send
from tests.factories import StrategyFactory
from tests.redis_server import RedisServer, broker_at, queued_run_ids


def compose_redis() -> dict[str, Any]:
    """The ``redis`` service of the shipped docker-compose.yml."""
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    service: dict[str, Any] = compose["services"]["redis"]
    return service


def test_compose_keeps_redis_data_on_a_volume() -> None:
    # the redis image writes its files (the append-only file) to /data
    assert any(str(v).endswith(":/data") for v in compose_redis().get("volumes", []))


@pytest.mark.django_db(transaction=True)
def test_redis_with_the_compose_options_keeps_queued_runs_across_a_restart(
    tmp_path: Path,
) -> None:
    # given Redis started with the compose file's options, and two runs waiting in its queue
    command = compose_redis()["command"]
    assert isinstance(command, list) and command[0] == "redis-server"
    server = RedisServer(directory=tmp_path, options=tuple(command[1:]))
    server.start()
    strategy = StrategyFactory.create()
    runs = [run_create(strategy_id=strategy.pk, as_of=timezone.now()) for _ in range(2)]
    with broker_at(server.url):
        assert runs_send([run.pk for run in runs]) == 2
    # when Redis is stopped and started again
    server.stop()
    server.start()
    # then both messages are still queued
    client = redis.Redis(port=server.port)
    try:
        assert queued_run_ids(client) == sorted(run.pk for run in runs)
    finally:
        client.close()
        server.stop()
