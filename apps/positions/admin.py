"""Admin for strategy and account positions: read-only lists (positions change only through
fills, reconciliation and ``manage.py rebuild_positions``)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.positions.models import AccountPosition, StrategyPosition


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and detail pages only: nothing added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: positions come from fills."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: positions come from fills."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: a rebuild replaces them."""
        return False


@admin.register(StrategyPosition)
class StrategyPositionAdmin(ReadOnlyAdmin):
    """Strategy positions, open and closed, with their P&L and R."""

    list_display = (
        "id",
        "account",
        "strategy",
        "symbol",
        "side",
        "status",
        "quantity",
        "average_cost",
        "realized_pnl",
        "commission",
        "r_multiple",
        "outcome",
        "opened_at",
        "closed_at",
    )
    list_filter = ("status", "side", "outcome", "account")
    search_fields = ("strategy__slug", "strategy__name", "symbol__symbol", "account__name")
    list_select_related = ("account", "strategy", "symbol")
    date_hierarchy = "opened_at"


@admin.register(AccountPosition)
class AccountPositionAdmin(ReadOnlyAdmin):
    """The broker's positions beside the strategies' sum; flagged ones first to look at."""

    list_display = (
        "account",
        "symbol",
        "side",
        "broker_quantity",
        "strategy_quantity",
        "unattributed_quantity",
        "reported_at",
        "flagged_at",
    )
    list_filter = ("side", ("flagged_at", admin.EmptyFieldListFilter), "account")
    search_fields = ("symbol__symbol", "account__name")
    list_select_related = ("account", "symbol")
