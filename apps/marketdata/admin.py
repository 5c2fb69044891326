"""Admin for the bar store (read-mostly)."""

from django.contrib import admin

from apps.marketdata.models import Bar


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ("symbol", "bar_size", "ts", "open", "high", "low", "close", "volume")
    list_filter = ("bar_size", "symbol")
    date_hierarchy = "ts"
    list_select_related = ("symbol",)
    search_fields = ("symbol__symbol",)
