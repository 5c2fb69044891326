"""Fixtures of the notification tests: loopback destinations allowed, the ``notifications``
queue on the test Redis emptied before and after."""

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: object) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]  # type: ignore[attr-defined]
    settings.NOTIFY_TIMEOUT_S = 5.0  # type: ignore[attr-defined]


@pytest.fixture
def notifications_queue() -> Iterator[redis.Redis]:
    """The Celery ``notifications`` queue on the test Redis, emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("notifications")
    yield client
    client.delete("notifications")
    client.close()
