"""Input and output serializers of the trading accounts API.

Money in the currency named beside it (starting cash per currency; never added across
currencies), quantities in shares/contracts/units, times in UTC.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.trading.models import (
    Account,
    AccountCash,
    OppositePolicy,
    PositionMode,
    SameDirectionPolicy,
    position_mode_change_refusal,
)

POLICY_FIELDS = (
    "position_mode",
    "opposite_policy",
    "same_direction_policy",
    "max_position_per_symbol",
)
# The automatic triggers' limits (``apps.trading.triggers``); null: off.
LIMIT_FIELDS = ("daily_loss_limit", "max_drawdown_pct")


def limit_serializer_fields() -> dict[str, serializers.DecimalField]:
    """Input fields of the automatic triggers' limits: ``daily_loss_limit`` (money in the
    base currency, > 0) and ``max_drawdown_pct`` (percent, > 0 and ≤ 100); null turns one
    off."""
    return {
        "daily_loss_limit": serializers.DecimalField(
            max_digits=20,
            decimal_places=2,
            min_value=Decimal("0.01"),
            allow_null=True,
            required=False,
            help_text="Halt the account when its P&L since 00:00 UTC (realized + unrealized, "
            "base currency) loses this much; null: off.",
        ),
        "max_drawdown_pct": serializers.DecimalField(
            max_digits=6,
            decimal_places=3,
            min_value=Decimal("0.001"),
            max_value=Decimal(100),
            allow_null=True,
            required=False,
            help_text="Halt the account when its equity falls this many percent below its "
            "high-water mark; null: off.",
        ),
    }


class AccountCashSerializer(serializers.ModelSerializer[AccountCash]):
    """A paper account's starting cash in one currency (ISO 4217 code, three letters)."""

    currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3)
    starting_cash = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal(0))

    class Meta:
        model = AccountCash
        fields = ["currency", "starting_cash"]


class AccountMemberSerializer(serializers.Serializer[Any]):
    """A user who may trade the account besides its owner."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)


class AccountOutputSerializer(serializers.ModelSerializer[Account]):
    """An account as listed: broker (``paper``: the embedded paper broker, ``ibkr``),
    ``broker_account_id`` (IBKR: ``DU…`` paper, ``U…`` live; blank for the paper book),
    ``kind`` (``paper`` or ``live``), base currency, position mode and conflict policies,
    ``max_position_per_symbol`` (units; null: no account limit), ``owner_id`` (null: the
    operator's), whether it is the owner's default paper account, its trading state, the
    automatic triggers' limits (``daily_loss_limit`` in the base currency, ``max_drawdown_pct``
    0–100; null: off) and its starting cash per currency (never added across currencies)."""

    kind = serializers.ChoiceField(choices=["paper", "live"], read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    cash = AccountCashSerializer(many=True, read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "owner_id",
            "broker",
            "broker_account_id",
            "kind",
            "base_currency",
            *POLICY_FIELDS,
            "is_default",
            "trading_state",
            *LIMIT_FIELDS,
            "cash",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AccountDetailOutputSerializer(AccountOutputSerializer):
    """One account with its starting cash per currency and its members."""

    members = AccountMemberSerializer(many=True, read_only=True)

    class Meta(AccountOutputSerializer.Meta):
        fields = [*AccountOutputSerializer.Meta.fields, "members"]
        read_only_fields = fields


class AccountUpdateInputSerializer(serializers.ModelSerializer[Account]):
    """What may change on an account: its name, position mode and conflict policies, the
    account's max position per symbol (units, > 0; null: no account limit) and the automatic
    triggers' limits (``limit_serializer_fields``)."""

    position_mode = serializers.ChoiceField(choices=PositionMode.choices, required=False)
    opposite_policy = serializers.ChoiceField(choices=OppositePolicy.choices, required=False)
    same_direction_policy = serializers.ChoiceField(
        choices=SameDirectionPolicy.choices, required=False
    )
    max_position_per_symbol = serializers.DecimalField(
        max_digits=20,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        allow_null=True,
        required=False,
    )
    daily_loss_limit = limit_serializer_fields()["daily_loss_limit"]
    max_drawdown_pct = limit_serializer_fields()["max_drawdown_pct"]

    class Meta:
        model = Account
        fields = ["name", *POLICY_FIELDS, *LIMIT_FIELDS]

    def validate_position_mode(self, value: str) -> str:
        """An existing account's mode changes only while nothing is open on it
        (``position_mode_change_refusal``)."""
        account = self.instance
        if isinstance(account, Account):
            refusal = position_mode_change_refusal(
                account_id=account.pk, stored=account.position_mode, new=value
            )
            if refusal:
                raise serializers.ValidationError(refusal)
        return value


class AccountCreateInputSerializer(AccountUpdateInputSerializer):
    """A new paper account of the requesting user: a name, base currency (default USD), the
    policies, and its starting cash per currency (default: ``PAPER_BUYING_POWER`` in the base
    currency; each currency once)."""

    base_currency = serializers.RegexField(r"^[A-Z]{3}$", max_length=3, default="USD")
    cash = AccountCashSerializer(many=True, required=False)

    class Meta(AccountUpdateInputSerializer.Meta):
        fields = ["name", "base_currency", *POLICY_FIELDS, *LIMIT_FIELDS, "cash"]

    def validate_cash(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each currency at most once."""
        currencies = [row["currency"] for row in value]
        if len(set(currencies)) != len(currencies):
            raise serializers.ValidationError("each currency at most once")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Without ``cash``: the paper broker's default buying power in the base currency."""
        if not attrs.get("cash"):
            attrs["cash"] = [
                {"currency": attrs["base_currency"], "starting_cash": settings.PAPER_BUYING_POWER}
            ]
        return attrs
