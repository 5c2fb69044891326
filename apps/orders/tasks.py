"""Celery entry points for orders: the monitor, the retry pass, the end-of-day close and
approval expiry."""

from dataclasses import asdict
from typing import Any

from celery import shared_task
from django.utils import timezone

from apps.orders.approvals import approvals_expire
from apps.orders.end_of_day import end_of_day_closes
from apps.orders.monitor import orders_monitor, orders_retry


@shared_task(name="apps.orders.tasks.monitor_active_orders")
def monitor_active_orders() -> dict[str, Any]:
    """Poll brokers for active orders and reconcile in-doubt ones (beat: every 60 s)."""
    return asdict(orders_monitor(now=timezone.now()))


@shared_task(name="apps.orders.tasks.retry_failed_orders")
def retry_failed_orders() -> dict[str, Any]:
    """Resubmit transiently failed brackets with backoff (beat: every 10 minutes)."""
    return asdict(orders_retry(now=timezone.now()))


@shared_task(name="apps.orders.tasks.close_before_session_end")
def close_before_session_end() -> dict[str, Any]:
    """Close-all the strategies whose session ends within their ``close_before_session_end_min``
    (beat: every 60 s; ``apps.orders.end_of_day``)."""
    return asdict(end_of_day_closes(now=timezone.now()))


@shared_task(name="apps.orders.tasks.expire_approvals")
def expire_approvals() -> dict[str, Any]:
    """Cancel the held brackets whose approval expired, with the reason "approval expired"
    (beat: every 30 s; ``apps.orders.approvals.approvals_expire``).
    Returns ``{"expired": [approval ids]}``."""
    return {"expired": approvals_expire(now=timezone.now())}
