"""Celery tasks of notifications: send one delivery (queue ``notifications``), and beat's pass
that queues again deliveries whose message was lost."""

import logging

from celery import shared_task
from django.utils import timezone

from apps.notifications.models import NotificationDelivery
from apps.notifications.services import deliveries_enqueue, deliveries_requeue, delivery_attempt

logger = logging.getLogger(__name__)


@shared_task(name="apps.notifications.tasks.notification_deliver", ignore_result=True)
def notification_deliver(delivery_id: int) -> str:
    """Make one attempt at delivery ``delivery_id``; when it failed and attempts remain, queue
    the next one after the backoff (if the broker is down, beat queues it later). Returns the
    delivery's status ("" for an unknown id)."""
    try:
        attempt = delivery_attempt(delivery_id=delivery_id)
    except NotificationDelivery.DoesNotExist:
        logger.warning("notification delivery %s no longer exists", delivery_id)
        return ""
    if attempt.retry_in_s is not None:
        deliveries_enqueue([delivery_id], countdown_s=attempt.retry_in_s)
    return str(attempt.delivery.status)


@shared_task(name="apps.notifications.tasks.notifications_requeue", ignore_result=True)
def notifications_requeue() -> int:
    """Beat: queue again the deliveries whose message was lost; returns how many."""
    return deliveries_requeue(now=timezone.now())
