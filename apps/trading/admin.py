"""Admin for trading accounts: the one place IBKR accounts are created and their members
assigned (the admin is staff only)."""

from django.contrib import admin

from apps.trading.models import Account, AccountCash, AccountSymbol


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
    )
    list_filter = ("broker", "position_mode", "opposite_policy", "same_direction_policy")
    search_fields = ("name", "broker_account_id", "owner__username")
    list_select_related = ("owner",)
    filter_horizontal = ("members",)
    autocomplete_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [AccountCashInline, AccountSymbolInline]

    @admin.display(description="kind")
    def kind(self, account: Account) -> str:
        """``paper`` or ``live`` (an IBKR ``DU…`` account is paper)."""
        return account.kind
