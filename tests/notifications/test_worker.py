"""A real Celery worker serves the ``notifications`` queue: ``notify`` in a committed
transaction reaches a loopback webhook; a failing one is retried through the queue with its
backoff, then marked failed."""

import time

import pytest
from django.db import transaction

from apps.notifications.models import NotificationDelivery
from apps.notifications.services import channel_create, notify
from tests.celery_worker import celery_worker
from tests.factories import UserFactory
from tests.notifications.servers import webhook

pytestmark = pytest.mark.django_db(transaction=True)


def _settled(delivery_id: int, timeout_s: float = 60) -> NotificationDelivery:
    deadline = time.monotonic() + timeout_s
    while True:
        delivery = NotificationDelivery.objects.get(pk=delivery_id)
        if delivery.status != "queued":
            return delivery
        assert time.monotonic() < deadline, f"still queued after {delivery.attempts} attempts"
        time.sleep(0.2)


def test_the_worker_delivers_and_retries_through_the_queue(notifications_queue: object) -> None:
    user = UserFactory.create()
    env = {
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1",
        "NOTIFY_MAX_ATTEMPTS": "3",
        "NOTIFY_RETRY_BACKOFF_S": "0.5",
    }
    with (
        webhook() as (good, good_port),
        webhook(status=500) as (bad, bad_port),
        celery_worker(name="notify", queues="notifications", extra_env=env),
    ):
        channel_create(
            owner=user, name="good", url=f"json://127.0.0.1:{good_port}/", events=["run_failed"]
        )
        channel_create(
            owner=user, name="bad", url=f"json://127.0.0.1:{bad_port}/", events=["run_failed"]
        )
        with transaction.atomic():
            assert notify("run_failed", users=[user], title="Run 9 failed", body="data: x") == 2
            time.sleep(1)
            assert good.received == []  # nothing leaves before the commit

        sent = _settled(NotificationDelivery.objects.get(channel__name="good").pk)
        failed = _settled(NotificationDelivery.objects.get(channel__name="bad").pk)

    assert (sent.status, sent.attempts) == ("sent", 1)
    assert good.received[0]["title"] == "Run 9 failed"
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert len(bad.received) == 3 and "500" in failed.last_error
