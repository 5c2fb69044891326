"""Notification services: channels (create, change, delete, test), ``notify`` — the one call
the domain apps make when something happens — and the delivery attempts the Celery task makes.

Trading never waits for a notification: ``notify`` only writes delivery rows (inside a
savepoint; any error is logged and swallowed) and, once the caller's transaction commits,
hands each delivery to the ``notifications`` queue without retrying a broker that is down.
A delivery whose message never reached the broker stays ``queued`` and beat sends it again
(``deliveries_requeue``). Sending happens in the worker only (``delivery_attempt``), except
the channel's test button (``channel_test``), which a person waits for.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.common.errors import SibylError
from apps.common.secret_fields import UndecryptableSecret
from apps.notifications.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotificationSubscription,
)
from apps.notifications.outbound import channel_url_check
from apps.notifications.sending import NotificationSendError, apprise_send

logger = logging.getLogger(__name__)

DELIVER_TASK = "apps.notifications.tasks.notification_deliver"
TITLE_MAX_CHARS = 250
BODY_MAX_CHARS = 4000
# Events a channel may subscribe to (the test event is sent by its button only).
SUBSCRIBABLE = tuple(e for e in NotificationEvent.values if e != NotificationEvent.TEST)


class ChannelNameTakenError(SibylError):
    """The owner already has a channel of that name."""


def _events_checked(events: Iterable[str]) -> list[str]:
    """Distinct known events in catalogue order; raises ValueError naming an unknown one."""
    wanted = set(events)
    unknown = wanted - set(SUBSCRIBABLE)
    if unknown:
        raise ValueError(
            f"unknown events {sorted(unknown)}: subscribe to any of {', '.join(SUBSCRIBABLE)}"
        )
    return [event for event in SUBSCRIBABLE if event in wanted]


def channel_create(
    *, owner: User, name: str, url: str, events: Iterable[str]
) -> NotificationChannel:
    """Create ``owner``'s channel ``name`` for the apprise ``url``, subscribed to ``events``.

    The URL is checked (``channel_url_check``: apprise understands it, not a local service,
    its destination allowed by the outbound URL policy) and stored encrypted with its masked
    form. Raises ChannelUrlInvalidError, OutboundUrlRefusedError, ValueError (unknown event)
    or ChannelNameTakenError."""
    checked = channel_url_check(url)
    chosen = _events_checked(events)
    with transaction.atomic():
        if NotificationChannel.objects.filter(owner=owner, name=name).exists():
            raise ChannelNameTakenError(f"you already have a channel named {name!r}")
        channel = NotificationChannel.objects.create(
            owner=owner,
            name=name,
            url=url.strip(),
            url_masked=checked.masked[:512],
            service=checked.service[:64],
        )
        NotificationSubscription.objects.bulk_create(
            NotificationSubscription(channel=channel, event=event) for event in chosen
        )
    return channel


def channel_update(
    *,
    channel: NotificationChannel,
    name: str | None = None,
    url: str | None = None,
    events: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> NotificationChannel:
    """Change what is given (None: unchanged); a new URL is checked as in ``channel_create``,
    ``events`` replaces the subscriptions. Raises as ``channel_create``."""
    fields: list[str] = []
    if url is not None:
        checked = channel_url_check(url)
        channel.url, channel.url_masked = url.strip(), checked.masked[:512]
        channel.service = checked.service[:64]
        fields += ["url", "url_masked", "service"]
    chosen = _events_checked(events) if events is not None else None
    with transaction.atomic():
        if name is not None and name != channel.name:
            taken = NotificationChannel.objects.filter(owner_id=channel.owner_id, name=name)
            if taken.exclude(pk=channel.pk).exists():
                raise ChannelNameTakenError(f"you already have a channel named {name!r}")
            channel.name = name
            fields.append("name")
        if is_active is not None:
            channel.is_active = is_active
            fields.append("is_active")
        if fields:
            channel.save(update_fields=[*fields, "updated_at"])
        if chosen is not None:
            channel.subscriptions.exclude(event__in=chosen).delete()
            have = set(channel.subscriptions.values_list("event", flat=True))
            NotificationSubscription.objects.bulk_create(
                NotificationSubscription(channel=channel, event=event)
                for event in chosen
                if event not in have
            )
    return channel


def channel_events(channel: NotificationChannel) -> list[str]:
    """The events ``channel`` is subscribed to, in catalogue order."""
    have = {s.event for s in channel.subscriptions.all()}
    return [event for event in SUBSCRIBABLE if event in have]


def channels_of(user: User) -> QuerySet[NotificationChannel]:
    """``user``'s channels (staff: everyone's), with their subscriptions prefetched."""
    channels = NotificationChannel.objects.prefetch_related("subscriptions")
    return channels if user.is_staff else channels.filter(owner=user)


def deliveries_of(user: User) -> QuerySet[NotificationDelivery]:
    """Deliveries to ``user``'s channels (staff: everyone's), newest first."""
    deliveries = NotificationDelivery.objects.select_related("channel")
    return deliveries if user.is_staff else deliveries.filter(channel__owner=user)


def _recipients(users: Iterable[User | int | None]) -> set[int]:
    """User ids; ``None`` stands for the operator (every active staff user)."""
    ids: set[int] = set()
    for user in users:
        if user is None:
            ids.update(
                User.objects.filter(is_active=True, is_staff=True).values_list("pk", flat=True)
            )
        else:
            ids.add(user if isinstance(user, int) else user.pk)
    return ids


def notify(
    event: str,
    *,
    users: Iterable[User | int | None],
    title: str,
    body: str,
    url: str | None = None,
    key: str = "",
) -> int:
    """Tell ``users`` that ``event`` happened: one queued delivery per active channel of theirs
    subscribed to it, each sent by the worker once the caller's transaction commits.

    Inputs: ``event`` a NotificationEvent value; ``users`` user objects or ids, ``None`` for
    the operator (active staff); ``title`` and ``body`` plain text (cut to 250 and 4000
    characters); ``url`` an optional link for the reader (shown under the body); ``key``
    makes it once-only per channel and event (e.g. ``budget:strategy:7:day:2026-12-07``).
    Output: the number of deliveries recorded (0 when nobody listens or on error).

    Never raises and never waits on the broker: a failing notification must not delay or
    fail trading. Errors are logged; a delivery the broker did not take stays queued and
    beat sends it again."""
    try:
        with transaction.atomic():  # a savepoint: an error leaves the caller's transaction usable
            ids = _deliveries_record(event, users, title, body, url or "", key)
    except Exception:
        logger.exception("notification %s not recorded", event)
        return 0
    if ids:
        transaction.on_commit(partial(deliveries_enqueue, ids), robust=True)
    return len(ids)


def _deliveries_record(
    event: str, users: Iterable[User | int | None], title: str, body: str, link: str, key: str
) -> list[int]:
    if event not in NotificationEvent.values:
        raise ValueError(f"unknown notification event {event!r}")
    recipients = _recipients(users)
    if not recipients:
        return []
    channels = NotificationChannel.objects.filter(
        owner_id__in=recipients,
        owner__is_active=True,
        is_active=True,
        subscriptions__event=event,
    ).values_list("pk", flat=True)
    ids: list[int] = []
    now = timezone.now()
    for channel_id in channels:
        if (
            key
            and NotificationDelivery.objects.filter(
                channel_id=channel_id, event=event, key=key
            ).exists()
        ):
            continue
        delivery = NotificationDelivery.objects.create(
            channel_id=channel_id,
            event=event,
            title=title[:TITLE_MAX_CHARS],
            body=body[:BODY_MAX_CHARS],
            link=link[:500],
            key=key[:200],
            next_attempt_at=now,
        )
        ids.append(delivery.pk)
    return ids


def deliveries_enqueue(ids: list[int], *, countdown_s: float = 0) -> int:
    """Hand each delivery id to the ``notifications`` queue (no retry against a broker that is
    down: the first failure stops the batch, the rest stay queued for ``deliveries_requeue``).
    Returns how many were handed over; never raises."""
    sent = 0
    for delivery_id in ids:
        try:
            current_app.send_task(
                DELIVER_TASK,
                args=(delivery_id,),
                countdown=countdown_s or None,
                retry=False,
                ignore_result=True,
            )
        except Exception:
            logger.exception(
                "notification delivery %s not queued (%d left queued for beat)",
                delivery_id,
                len(ids) - sent,
            )
            break
        sent += 1
    return sent


@dataclass(frozen=True)
class Attempt:
    """What one delivery attempt did: the delivery as it now is, and the seconds until the
    next attempt (None: no further attempt — sent, failed for good, or not due)."""

    delivery: NotificationDelivery
    retry_in_s: float | None


def retry_delay_s(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: NOTIFY_RETRY_BACKOFF_S doubled
    each time, at most NOTIFY_RETRY_BACKOFF_MAX_S."""
    delay = settings.NOTIFY_RETRY_BACKOFF_S * 2 ** max(attempts - 1, 0)
    return float(min(delay, settings.NOTIFY_RETRY_BACKOFF_MAX_S))


def _message(delivery: NotificationDelivery) -> str:
    return f"{delivery.body}\n\n{delivery.link}" if delivery.link else delivery.body


def delivery_attempt(
    *, delivery_id: int, now: datetime | None = None, max_attempts: int | None = None
) -> Attempt:
    """Make one attempt to send a queued delivery (the worker's job), under its row lock so two
    workers never send it twice at once. A delivery not queued (sent, failed) is left alone.

    On success: ``sent``. On failure: ``last_error`` (scrubbed of the URL's secrets) and, while
    attempts remain (``max_attempts``, default NOTIFY_MAX_ATTEMPTS), still queued with
    ``next_attempt_at`` after the backoff (``retry_delay_s``), else ``failed``. A channel that
    was switched off or whose URL cannot be decrypted fails at once. Raises
    NotificationDelivery.DoesNotExist for an unknown id."""
    limit = max_attempts or settings.NOTIFY_MAX_ATTEMPTS
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(of=("self",))
            .select_related("channel")
            .get(pk=delivery_id)
        )
        if delivery.status != DeliveryStatus.QUEUED:
            return Attempt(delivery, None)
        channel = delivery.channel
        final = False
        error = ""
        if not channel.is_active:
            error, final = "the channel is switched off", True
        elif isinstance(channel.url, UndecryptableSecret):
            error = "the channel URL cannot be decrypted (SECRET_KEY or LLM_KEY_SALT changed)"
            final = True
        else:
            try:
                apprise_send(url=channel.url, title=delivery.title, body=_message(delivery))
            except NotificationSendError as failure:
                error = str(failure)
            except Exception as failure:  # a bug in a service plugin must not loop forever
                error = f"{type(failure).__name__} while sending"
                logger.exception("notification delivery %s", delivery_id)
        moment = now or timezone.now()
        delivery.attempts += 1
        retry_in: float | None = None
        if not error:
            delivery.status, delivery.sent_at, delivery.last_error = (
                DeliveryStatus.SENT,
                moment,
                "",
            )
        else:
            delivery.last_error = error
            if final or delivery.attempts >= limit:
                delivery.status = DeliveryStatus.FAILED
            else:
                retry_in = retry_delay_s(delivery.attempts)
                delivery.next_attempt_at = moment + timedelta(seconds=retry_in)
        delivery.save(
            update_fields=[
                "status",
                "attempts",
                "last_error",
                "sent_at",
                "next_attempt_at",
                "updated_at",
            ]
        )
    return Attempt(delivery, retry_in)


def deliveries_requeue(*, now: datetime) -> int:
    """Queue again the deliveries still ``queued`` NOTIFY_REQUEUE_AFTER_S after their attempt
    was due: their message was lost (Redis down when ``notify`` ran, or flushed). Beat calls
    this; returns how many were handed to the queue. A duplicate message is harmless: an
    attempt locks the delivery and skips it unless it is still queued."""
    due = now - timedelta(seconds=settings.NOTIFY_REQUEUE_AFTER_S)
    ids = list(
        NotificationDelivery.objects.filter(
            status=DeliveryStatus.QUEUED, next_attempt_at__lte=due
        ).values_list("pk", flat=True)[:500]
    )
    if not ids:
        return 0
    sent = deliveries_enqueue(ids)
    if sent:
        # Not again before another full wait.
        NotificationDelivery.objects.filter(pk__in=ids[:sent], status=DeliveryStatus.QUEUED).update(
            next_attempt_at=now
        )
    return sent


def channel_test(*, channel: NotificationChannel) -> NotificationDelivery:
    """Send a ``test`` message to ``channel`` now (one attempt, in this process: a person
    waits for the answer) and return its delivery, ``sent`` or ``failed`` with the reason."""
    delivery = NotificationDelivery.objects.create(
        channel=channel,
        event=NotificationEvent.TEST,
        title="Sibyl test notification",
        body=f"This channel ({channel.name}) receives Sibyl's notifications.",
        next_attempt_at=timezone.now(),
    )
    return delivery_attempt(delivery_id=delivery.pk, max_attempts=1).delivery


def users_subscribed(event: str) -> list[int]:
    """Ids of the active users with an active channel subscribed to ``event``."""
    return sorted(
        set(
            NotificationChannel.objects.filter(
                is_active=True, owner__is_active=True, subscriptions__event=event
            ).values_list("owner_id", flat=True)
        )
    )
