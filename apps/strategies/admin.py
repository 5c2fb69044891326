"""Admin for strategies."""

from django.contrib import admin

from apps.strategies.models import Strategy


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = (
        "slug",
        "name",
        "symbol",
        "bar_size",
        "analyst",
        "schedule_cron",
        "schedule_timezone",
        "trading_mode",
        "is_active",
    )
    list_filter = ("is_active", "trading_mode", "analyst", "bar_size")
    search_fields = ("slug", "name", "symbol__symbol")
    list_select_related = ("symbol",)
    prepopulated_fields = {"slug": ("name",)}
