"""Admin for trading accounts: the one place IBKR accounts are created and their members
assigned (the admin is staff only)."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.models import User
from django.http import HttpRequest

from apps.trading.models import Account, AccountCash, AccountSymbol, TradingStateChange
from apps.trading.trading_state import trading_state_set


class AccountCashInline(admin.TabularInline):
    """Starting cash per currency (currencies are never added together)."""

    model = AccountCash
    extra = 0


class AccountSymbolInline(admin.TabularInline):
    """Per-symbol overrides of the account's conflict policy (blank: the account's)."""

    model = AccountSymbol
    extra = 0
    autocomplete_fields = ("symbol",)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Accounts with their broker, kind (paper/live), owner, members and policies."""

    list_display = (
        "name",
        "owner",
        "broker",
        "broker_account_id",
        "kind",
        "base_currency",
        "position_mode",
        "opposite_policy",
        "same_direction_policy",
        "max_position_per_symbol",
        "is_default",
        "trading_state",
    )
    list_filter = (
        "broker",
        "position_mode",
        "opposite_policy",
        "same_direction_policy",
        "trading_state",
    )
    search_fields = ("name", "broker_account_id", "owner__username")
    list_select_related = ("owner",)
    filter_horizontal = ("members",)
    autocomplete_fields = ("owner",)
    # Changed through "Trading state changes" (a reason is required and recorded).
    readonly_fields = ("trading_state", "created_at", "updated_at")
    inlines = [AccountCashInline, AccountSymbolInline]

    @admin.display(description="kind")
    def kind(self, account: Account) -> str:
        """``paper`` or ``live`` (an IBKR ``DU…`` account is paper)."""
        return account.kind


@admin.register(TradingStateChange)
class TradingStateChangeAdmin(admin.ModelAdmin):
    """The kill switch's history; "add" sets a state (no account: the global state) through
    ``trading_state_set`` with source ``admin`` and the staff member recorded. Changes are
    never edited or deleted."""

    list_display = ("created_at", "scope", "previous", "state", "reason", "source", "changed_by")
    list_filter = ("state", "source")
    search_fields = ("reason", "account__name")
    list_select_related = ("account", "changed_by")
    fields = ("account", "state", "reason")
    autocomplete_fields = ("account",)

    @admin.display(description="scope")
    def scope(self, change: TradingStateChange) -> str:
        """The account's name, or "global"."""
        return change.account.name if change.account else "global"

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: TradingStateChange, form: Any, change: bool
    ) -> None:
        saved = trading_state_set(
            state=obj.state,
            reason=obj.reason,
            source="admin",
            account=obj.account,
            by=request.user if isinstance(request.user, User) else None,
        )
        obj.pk = saved.pk
