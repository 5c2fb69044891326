"""Admin for notification channels (the URL shown masked, set through a write-only field that
passes the same checks as the API) and the delivery log (read-only)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.common.outbound import OutboundUrlRefusedError
from apps.notifications.models import (
    NotificationChannel,
    NotificationDelivery,
    NotificationSubscription,
)
from apps.notifications.outbound import ChannelUrlInvalidError, channel_url_check


class ChannelForm(forms.ModelForm):  # type: ignore[type-arg]
    """The URL is write-only: blank keeps the stored one; a new one is checked and masked."""

    new_url = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        label="URL",
        help_text="An apprise URL; blank keeps the stored one (never shown).",
    )

    class Meta:
        model = NotificationChannel
        fields = ("owner", "name", "is_active")

    def clean_new_url(self) -> str:
        """Check a new URL (apprise understands it; outbound URL policy); required on add."""
        url = str(self.cleaned_data.get("new_url") or "").strip()
        if not url and self.instance.pk is None:
            raise forms.ValidationError("A new channel needs a URL.")
        if url:
            try:
                checked = channel_url_check(url)
            except (ChannelUrlInvalidError, OutboundUrlRefusedError) as error:
                raise forms.ValidationError(str(error)) from None
            self.instance.url = url
            self.instance.url_masked = checked.masked[:512]
            self.instance.service = checked.service[:64]
        return url


class SubscriptionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = NotificationSubscription
    extra = 0


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Channels with their subscriptions; the URL masked."""

    form = ChannelForm
    list_display = ("name", "owner", "service", "url_masked", "is_active", "updated_at")
    list_filter = ("is_active", "service")
    search_fields = ("name", "owner__username")
    readonly_fields = ("url_masked", "service", "created_at", "updated_at")
    inlines = [SubscriptionInline]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The delivery log: read-only."""

    list_display = ("created_at", "event", "channel", "status", "attempts", "last_error")
    list_filter = ("status", "event")
    search_fields = ("title", "channel__name", "channel__owner__username")
    list_select_related = ("channel",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Deliveries come from events only."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Read-only."""
        return False
