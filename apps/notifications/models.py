"""Notification channels (a user's apprise URL), their subscriptions to events, and the
delivery log (one row per event sent, or to be sent, to one channel)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.common.secret_fields import SecretField


class NotificationEvent(models.TextChoices):
    """What a channel may subscribe to (see openspec/specs/notifications/spec.md)."""

    ORDER_FILLED = "order_filled", "Order filled"
    STOP_HIT = "stop_hit", "Stop-loss hit"
    TARGET_HIT = "target_hit", "Take-profit hit"
    RUN_FAILED = "run_failed", "Run failed"
    APPROVAL_NEEDED = "approval_needed", "Approval needed"
    TRADING_STATE_CHANGED = "trading_state_changed", "Trading state changed"
    RECONCILIATION_MISMATCH = "reconciliation_mismatch", "Reconciliation mismatch"
    BUDGET_REACHED = "budget_reached", "LLM budget reached"
    DAILY_SUMMARY = "daily_summary", "Daily summary"
    # Sent by the channel's test button only; no subscription needed.
    TEST = "test", "Test"


class DeliveryStatus(models.TextChoices):
    """``queued``: waiting for (another) attempt; ``sent``: the service accepted it;
    ``failed``: every attempt failed (``last_error`` says why)."""

    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class NotificationChannel(models.Model):
    """Where a user hears about events: one apprise URL (Telegram, Slack, e-mail, ntfy, a
    webhook …). The URL holds tokens, so it is encrypted at rest (``SecretField``) and the
    API shows ``url_masked`` only (apprise's privacy form)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_channels"
    )
    name = models.CharField(max_length=64)
    url: str = SecretField(  # type: ignore[assignment]  # untyped library field
        max_length=2000, help_text="The apprise URL, encrypted at rest; never shown in clear."
    )
    url_masked = models.CharField(
        max_length=512, help_text="The URL with its secrets hidden (apprise's privacy form)."
    )
    service = models.CharField(max_length=64, help_text="The apprise service, e.g. Telegram.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="notification_channel_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.url_masked})"


class NotificationSubscription(models.Model):
    """A channel hears about one event type."""

    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="subscriptions"
    )
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)

    class Meta:
        ordering = ["channel_id", "event"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "event"], name="notification_sub_unique"),
            models.CheckConstraint(
                condition=Q(event__in=NotificationEvent.values), name="notification_sub_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.event}"


class NotificationDelivery(models.Model):
    """One event to one channel: what was said, and how sending it went. ``key`` (optional)
    makes a notification once-only per channel (e.g. one budget-reached message per budget
    period). ``last_error`` never holds the URL's secrets."""

    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=32, choices=NotificationEvent.choices)
    title = models.CharField(max_length=250)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True, help_text="A URL the message points at.")
    key = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(
        help_text="When the next attempt is due (UTC); beat re-sends a queued delivery whose "
        "message was lost once this is NOTIFY_REQUEUE_AFTER_S past."
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "notification deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notif_delivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "event", "key"],
                condition=~Q(key=""),
                name="notification_delivery_once",
            ),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="notification_delivery_status"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id} ({self.status})"
