"""The notifications API: channels are owned (another user's is a 404), the URL is write-only
(answers show it masked), checked at save time (unknown scheme, local services and the
server's own network refused), the test button answers the outcome, the delivery log."""

from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.notifications.models import NotificationChannel, NotificationDelivery
from tests.factories import UserFactory
from tests.notifications.servers import webhook

pytestmark = pytest.mark.django_db
CHANNELS = "/api/v1/notification-channels/"
TELEGRAM = "tgram://123456789:AAbbCCddEEffGGhh/424242"


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_a_channel_is_created_masked_and_owned() -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    api = _api(owner)

    created = api.post(
        CHANNELS,
        {"name": "phone", "url": TELEGRAM, "events": ["stop_hit", "order_filled"]},
        format="json",
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["events"] == ["order_filled", "stop_hit"]  # catalogue order
    assert body["service"] == "Telegram" and body["url_masked"].startswith("tgram://")
    assert "AAbbCCddEEffGGhh" not in created.content.decode()
    assert "url" not in body
    url = f"{CHANNELS}{body['id']}/"
    listed = api.get(CHANNELS).json()["results"]
    assert [c["name"] for c in listed] == ["phone"]
    assert "AAbbCCddEEffGGhh" not in api.get(url).content.decode()

    changed = api.patch(url, {"events": ["run_failed"]}, format="json")
    assert changed.status_code == 200 and changed.json()["events"] == ["run_failed"]

    stranger = _api(other)
    assert stranger.get(CHANNELS).json()["results"] == []
    assert stranger.get(url).status_code == 404
    assert stranger.patch(url, {"name": "mine"}, format="json").status_code == 404
    assert stranger.post(f"{url}test/").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert api.delete(url).status_code == 204
    assert not NotificationChannel.objects.exists()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense://x", "apprise does not understand this URL (scheme 'nonsense')"),
        ("not a url", "not an apprise URL"),
        ("dbus://", "notifies the server itself"),
        ("windows://", "notifies the server itself"),
        ("json://169.254.169.254/latest", "169.254.169.254 is link-local"),
        ("json://10.0.0.8/hook", "10.0.0.8 is private"),
        ("mailto://user:pass@example.com?smtp=127.0.0.2&to=a@example.com", "127.0.0.2 is loopback"),
    ],
)
def test_a_url_is_refused_at_save_time_with_the_reason(url: str, says: str) -> None:
    api = _api(UserFactory.create())

    answer = api.post(CHANNELS, {"name": "x", "url": url, "events": []}, format="json")

    assert answer.status_code == 400, answer.content
    [message] = answer.json()["url"]
    assert says in message
    assert not NotificationChannel.objects.exists()


def test_loopback_needs_the_allowlist(settings: Any) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    api = _api(UserFactory.create())

    answer = api.post(CHANNELS, {"name": "x", "url": "json://127.0.0.1:8/h"}, format="json")

    assert answer.status_code == 400
    assert "allow it with NOTIFY_ALLOWED_HOSTS" in answer.json()["url"][0]


def test_unknown_events_and_duplicate_names_are_field_errors() -> None:
    api = _api(UserFactory.create())
    body = {"name": "x", "url": TELEGRAM, "events": ["order_filled"]}
    assert api.post(CHANNELS, body, format="json").status_code == 201

    again = api.post(CHANNELS, body, format="json")
    assert again.status_code == 400 and "already have a channel" in again.json()["name"][0]
    bad = api.post(CHANNELS, {**body, "name": "y", "events": ["test"]}, format="json")
    assert bad.status_code == 400 and "events" in bad.json()


def test_the_test_button_and_the_delivery_log() -> None:
    owner, other = UserFactory.create(), UserFactory.create()
    api = _api(owner)
    with webhook() as (hook, port):
        channel = api.post(
            CHANNELS, {"name": "hook", "url": f"json://127.0.0.1:{port}/h"}, format="json"
        ).json()

        answer = api.post(f"{CHANNELS}{channel['id']}/test/")

    assert answer.status_code == 200, answer.content
    assert (answer.json()["status"], answer.json()["event"]) == ("sent", "test")
    assert hook.received[0]["title"] == "Sibyl test notification"
    log = api.get("/api/v1/notification-deliveries/").json()["results"]
    assert [(d["event"], d["status"], d["channel_name"]) for d in log] == [("test", "sent", "hook")]
    assert _api(other).get("/api/v1/notification-deliveries/").json()["results"] == []
    assert NotificationDelivery.objects.count() == 1


def test_the_event_catalogue() -> None:
    answer = _api(UserFactory.create()).get("/api/v1/notification-events/")

    values = [e["value"] for e in answer.json()]
    assert values[:3] == ["order_filled", "stop_hit", "target_hit"]
    assert "daily_summary" in values and "approval_needed" in values and "test" not in values
