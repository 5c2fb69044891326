"""Admin for strategies: run now, activate and deactivate from the list."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.pipeline.dispatch import schedules_refresh
from apps.strategies.lifecycle import (
    strategy_activate,
    strategy_deactivate,
    strategy_run_enqueue,
)
from apps.strategies.models import Strategy
from apps.strategies.services import SCHEDULE_FIELDS


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "owner",
        "symbol",
        "bar_size",
        "analyst",
        "schedule_cron",
        "schedule_timezone",
        "next_run_at",
        "trading_mode",
        "is_active",
    )
    list_filter = ("is_active", "trading_mode", "analyst", "bar_size", "owner")
    search_fields = ("slug", "name", "symbol__symbol", "owner__username")
    list_select_related = ("symbol", "owner")
    prepopulated_fields = {"slug": ("name",)}
    actions = ("run_now", "activate", "deactivate")

    def save_model(self, request: HttpRequest, obj: Strategy, form: Any, change: bool) -> None:
        """Save; when the schedule changed, the next slot is recomputed at once (as the
        strategies file and the API do) instead of the old slot running first."""
        if set(form.changed_data) & set(SCHEDULE_FIELDS):
            obj.next_run_at = None
        super().save_model(request, obj, form, change)
        schedules_refresh(only_missing=True)

    @admin.action(description="Run now (as of the current time, on a worker)")
    def run_now(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Create a pending manual run per strategy and enqueue it for the ``runs`` queue."""
        runs = [strategy_run_enqueue(strategy=strategy) for strategy in queryset]
        ids = ", ".join(str(run.pk) for run in runs)
        self.message_user(request, f"{len(runs)} run(s) enqueued: {ids}", messages.SUCCESS)

    @admin.action(description="Activate (schedule from the next slot)")
    def activate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Activate each strategy; its next slot is computed as the dispatcher does."""
        for strategy in queryset:
            strategy_activate(strategy=strategy)
        self.message_user(request, f"{queryset.count()} strateg(ies) active", messages.SUCCESS)

    @admin.action(description="Deactivate (no further scheduled runs)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        """Deactivate each strategy and clear its next slot."""
        for strategy in queryset:
            strategy_deactivate(strategy=strategy)
        self.message_user(request, f"{queryset.count()} strateg(ies) inactive", messages.SUCCESS)
