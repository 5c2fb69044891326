"""Notifications end to end on loopback: a webhook and an SMTP server receive what ``notify``
queued; a failing destination is retried, then marked failed, and never touches the run that
caused it; Redis down at ``notify`` leaves trading unaffected and beat queues it later; the
outbound URL policy refuses the server's own network at save and at send time."""

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.db import connection
from django.utils import timezone

from apps.notifications.models import DeliveryStatus, NotificationDelivery
from apps.notifications.services import (
    channel_create,
    channel_test,
    deliveries_requeue,
    notify,
)
from apps.notifications.tasks import notification_deliver
from apps.orders.models import Order
from apps.symbols.models import Symbol
from celery_app import app
from tests.api.helpers import baseline_run
from tests.factories import UserFactory
from tests.notifications.servers import smtp_server, webhook
from tests.redis_server import RedisServer, broker_at, free_port

pytestmark = pytest.mark.django_db


def _queued(client: redis.Redis) -> list[int]:
    """Delivery ids of the messages waiting in the ``notifications`` queue."""
    ids = []
    for raw in client.lrange("notifications", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "apps.notifications.tasks.notification_deliver"
        ids.append(json.loads(base64.b64decode(message["body"]))[0][0])
    return sorted(ids)


def test_a_webhook_receives_the_title_and_body(
    notifications_queue: redis.Redis, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory.create()
    with webhook() as (hook, port):
        channel_create(
            owner=user, name="hook", url=f"json://127.0.0.1:{port}/sibyl", events=["run_failed"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            count = notify("run_failed", users=[user], title="Run 7 failed", body="llm: timeout")
        assert count == 1
        [delivery] = NotificationDelivery.objects.all()
        assert _queued(notifications_queue) == [delivery.pk]  # queued once committed

        assert notification_deliver(delivery.pk) == "sent"

    assert hook.paths == ["/sibyl"]
    [received] = hook.received
    assert (received["title"], received["message"]) == ("Run 7 failed", "llm: timeout")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")
    assert delivery.sent_at is not None


def test_unsubscribed_events_and_other_users_get_nothing() -> None:
    user, other = UserFactory.create(), UserFactory.create()
    channel_create(owner=user, name="hook", url="json://127.0.0.1:9/x", events=["stop_hit"])

    assert notify("run_failed", users=[user], title="t", body="b") == 0
    assert notify("stop_hit", users=[other], title="t", body="b") == 0
    assert notify("stop_hit", users=[user], title="t", body="b", key="order:1") == 1
    assert notify("stop_hit", users=[user], title="t", body="b", key="order:1") == 0  # once
    assert NotificationDelivery.objects.count() == 1


def test_an_smtp_server_receives_the_mail() -> None:
    user = UserFactory.create()
    with smtp_server() as (mailbox, port):
        url = f"mailto://127.0.0.1:{port}?to=ops@example.com&from=sibyl@example.com"
        channel_create(owner=user, name="mail", url=url, events=["trading_state_changed"])
        notify(
            "trading_state_changed",
            users=[user],
            title="Trading halted (global)",
            body="broker maintenance",
        )
        [delivery] = NotificationDelivery.objects.all()

        assert notification_deliver(delivery.pk) == "sent"

    [mail] = mailbox.messages
    assert mail["Subject"] == "Trading halted (global)"
    assert mailbox.recipients == [["ops@example.com"]]
    assert "broker maintenance" in mail.as_string()


def test_a_failing_destination_is_retried_then_failed_without_touching_the_run(
    goog: Symbol, notifications_queue: redis.Redis, settings: Any
) -> None:
    settings.NOTIFY_MAX_ATTEMPTS = 3
    user = UserFactory.create()
    with webhook(status=500) as (hook, port):
        url = f"json://sibyl:s3cretpassw0rd@127.0.0.1:{port}/hook/t0ken-abcdef"
        channel_create(owner=user, name="hook", url=url, events=["order_filled", "stop_hit"])

        run = baseline_run(goog, user)  # SELL: the entry fills, then its stop

        assert run.status == "succeeded"
        deliveries = list(NotificationDelivery.objects.order_by("id"))
        assert [d.event for d in deliveries] == ["order_filled", "stop_hit"]
        entry = Order.objects.get(run=run, role="entry")
        assert deliveries[0].title.startswith("GOOG order filled: SELL")
        assert entry.client_order_ref in deliveries[0].body
        first = deliveries[0]

        before = timezone.now()
        assert notification_deliver(first.pk) == "queued"  # attempt 1 failed: a retry waits
        first.refresh_from_db()
        assert (first.status, first.attempts) == ("queued", 1)
        assert first.next_attempt_at > before  # the backoff
        assert "500" in first.last_error
        assert "s3cretpassw0rd" not in first.last_error and "t0ken-abcdef" not in first.last_error
        assert _queued(notifications_queue) == [first.pk]  # the retry, with its countdown

        assert notification_deliver(first.pk) == "queued"
        assert notification_deliver(first.pk) == "failed"
        assert notification_deliver(first.pk) == "failed"  # no attempt after the last

    first.refresh_from_db()
    assert (first.status, first.attempts) == ("failed", 3)
    assert len(hook.received) == 3
    run.refresh_from_db()
    assert (run.status, run.error_message) == ("succeeded", "")


def test_redis_down_at_notify_leaves_trading_unaffected_and_beat_queues_it_later(
    goog: Symbol, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory.create()
    channel_create(owner=user, name="hook", url="json://127.0.0.1:9/x", events=["order_filled"])

    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with broker_at(closed), django_capture_on_commit_callbacks(execute=True):
        run = baseline_run(goog, user)

    assert run.status == "succeeded"
    [delivery] = NotificationDelivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("queued", 0)

    server = RedisServer(directory=tmp_path)
    server.start()
    try:
        with broker_at(server.url):
            assert deliveries_requeue(now=timezone.now()) == 0  # not overdue yet
            later = delivery.next_attempt_at + timedelta(minutes=5)
            assert deliveries_requeue(now=later) == 1
            client = redis.Redis(port=server.port)
            assert _queued(client) == [delivery.pk]
            client.close()
    finally:
        server.stop()


def test_the_test_button_reports_the_outcome() -> None:
    user = UserFactory.create()
    with webhook() as (hook, port):
        channel = channel_create(owner=user, name="ok", url=f"json://127.0.0.1:{port}/", events=[])
        assert channel_test(channel=channel).status == DeliveryStatus.SENT
    assert hook.received[0]["title"] == "Sibyl test notification"

    closed = channel_create(
        owner=user, name="closed", url=f"json://127.0.0.1:{free_port()}/", events=[]
    )
    failed = channel_test(channel=closed)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error


def test_the_outbound_policy_refuses_at_send_time(settings: Any) -> None:
    user = UserFactory.create()
    with webhook() as (hook, port):
        channel = channel_create(
            owner=user, name="hook", url=f"json://127.0.0.1:{port}/", events=["run_failed"]
        )
        settings.NOTIFY_ALLOWED_HOSTS = []  # e.g. the operator tightened the policy

        delivery = channel_test(channel=channel)

    assert delivery.status == "failed"
    assert "outbound URL policy" in delivery.last_error and "loopback" in delivery.last_error
    assert hook.received == []  # never contacted


def test_the_url_is_encrypted_at_rest() -> None:
    user = UserFactory.create()
    url = "tgram://123456789:AAbbCCddEEffGGhh/424242"
    channel = channel_create(owner=user, name="tg", url=url, events=["run_failed"])

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT url, url_masked FROM notifications_notificationchannel WHERE id = %s",
            [channel.pk],
        )
        raw, masked = cursor.fetchone()
    assert "AAbbCCddEEffGGhh" not in raw and "123456789" not in raw
    assert "AAbbCCddEEffGGhh" not in masked
    channel.refresh_from_db()
    assert channel.url == url


def test_the_tasks_are_routed_and_on_the_beat_schedule() -> None:
    assert app.conf.task_routes["apps.notifications.tasks.notification_deliver"] == {
        "queue": "notifications"
    }
    assert "notifications" in {queue.name for queue in app.conf.task_queues}
    requeue = app.conf.beat_schedule["notifications-requeue"]
    summary = app.conf.beat_schedule["notifications-daily-summary"]
    assert requeue["task"] in app.tasks and summary["task"] in app.tasks
    assert (summary["schedule"].hour, summary["schedule"].minute) == ({21}, {30})
