"""Admin for instruments."""

from django.contrib import admin

from apps.symbols.models import Symbol


@admin.register(Symbol)
class SymbolAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "sec_type",
        "exchange",
        "primary_exchange",
        "currency",
        "conid",
        "timezone",
        "fetched_at",
    )
    list_filter = ("sec_type", "currency", "exchange")
    search_fields = ("symbol", "description", "conid")
