"""Admin for signals, with every check and the orders they led to."""

from django.contrib import admin

from apps.signals.models import Signal


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "strategy",
        "run",
        "action",
        "status",
        "confidence",
        "entry",
        "stop_loss",
        "take_profit",
        "reward_risk",
        "created_at",
    )
    list_filter = ("action", "status", "strategy")
    search_fields = ("strategy__slug", "reasoning")
    list_select_related = ("strategy", "run")
    readonly_fields = [f.name for f in Signal._meta.fields]
