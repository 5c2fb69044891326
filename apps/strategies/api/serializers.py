"""Input and output serializers of the strategies API."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.analysis.models import LlmEndpoint, PromptTemplate
from apps.analysis.selectors import prompt_templates_usable
from apps.orders.models import ENTRY_ORDER_TYPE_CHOICES, ENTRY_ORDER_TYPES
from apps.strategies.definitions import SESSION_END_MAX_MIN
from apps.strategies.lifecycle import MAX_NEXT_SLOTS, UNKNOWN_ENDPOINT, strategy_problems
from apps.strategies.models import ACCOUNT_NOT_USABLE, Strategy
from apps.trading.models import Account
from apps.trading.selectors import accounts_of

CONFIGURATION_FIELDS = (
    "name",
    "slug",
    "account",
    "symbol",
    "bar_size",
    "lookback",
    "indicators",
    "prompt_template",
    "analyst",
    "llm_model",
    "llm_temperature",
    "llm_max_tokens",
    "llm_endpoint",
    "llm_timeout_s",
    "llm_accepts_images",
    "llm_response_format",
    "llm_fallback_model",
    "llm_budget_daily_usd",
    "llm_budget_monthly_usd",
    "schedule_cron",
    "schedule_timezone",
    "is_active",
    "catch_up",
    "skip_closed_market",
    "capital",
    "risk_per_trade_pct",
    "max_position_quantity",
    "max_order_notional",
    "min_confidence",
    "min_reward_risk",
    "max_entry_deviation_pct",
    "order_type",
    "time_in_force",
    "opposite_signal",
    "close_order_type",
    "scale_in",
    "max_scale_ins",
    "scale_in_exits",
    "trail_stop",
    "close_before_session_end_min",
    "daily_loss_limit",
    "max_drawdown_pct",
    "max_failed_runs",
    "trading_mode",
)
CLOSE_ORDER_TYPE_HELP = (
    "A signal's close of the held position: `MKT` (market) or `LMT` (limit at the signal's entry)."
)
READ_ONLY_FIELDS = (
    "id",
    "owner",
    "next_run_at",
    "auto_deactivated_at",
    "auto_deactivation_reason",
    "created_at",
    "updated_at",
)


@extend_schema_field(
    {
        "type": "string",
        "enum": [kind.value for kind in ENTRY_ORDER_TYPES],
        "description": "The entry order: `MKT` (market) or `LMT` (limit at the signal's entry).",
    }
)
class EntryOrderTypeField(serializers.ChoiceField):
    """A strategy's entry (or close) order type, MKT or LMT; its schema is inline so that it
    does not share the enum name ``OrderTypeEnum`` with the orders API's wider order types."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=ENTRY_ORDER_TYPE_CHOICES, **kwargs)


class StrategyInputSerializer(serializers.ModelSerializer[Strategy]):
    """A strategy's configuration, as created (POST) or changed (PUT, PATCH).

    ``symbol`` and ``prompt_template`` are ids: any symbol; a template version of the
    strategy's owner (yours for a new strategy) or a published one, else the id is invalid as
    if it did not exist (security spec, "Prompt templates belong to users"); money in the
    symbol's currency, percentages 0–100, confidence 0–1. Beyond the model's own checks, the
    strategies-file rules apply (``strategy_problems``): a bad cron expression is a
    ``schedule_cron`` error, an unknown TA-Lib function an ``indicators`` error, an unknown
    IANA zone a ``schedule_timezone`` error, and so on. The position settings
    (``opposite_signal`` … ``close_before_session_end_min``) are the strategies file's
    ``positions`` section: ``max_scale_ins`` at least 1, ``close_before_session_end_min`` null
    (never) or 1–240 minutes and only for a symbol with a trading calendar. The automatic
    triggers' limits are its ``limits`` section (null: off): ``daily_loss_limit`` (money,
    > 0), ``max_drawdown_pct`` (0–100), ``max_failed_runs`` (at least 1); a breached one
    deactivates the strategy (``apps.strategies.triggers``).
    """

    # Removed with LLM endpoints (security spec): a client still sending them gets told, rather
    # than having them silently ignored and believing its strategy talks to that URL.
    REMOVED_FIELDS = {
        "llm_base_url": "removed: choose an LLM endpoint with llm_endpoint (see "
        "/api/v1/llm-endpoints/)",
        "llm_api_key_env": "removed: an endpoint's key is stored with the endpoint (see "
        "/api/v1/llm-endpoints/); the server never reads keys from its environment for a strategy",
    }

    order_type = EntryOrderTypeField(required=False)
    close_order_type = EntryOrderTypeField(required=False, help_text=CLOSE_ORDER_TYPE_HELP)
    # Any id that is not an endpoint the owner may use gets the message strategy_problems
    # gives another user's endpoint, so the answer never tells whether that id exists.
    llm_endpoint = serializers.PrimaryKeyRelatedField(
        queryset=LlmEndpoint.objects.all(),
        allow_null=True,
        required=False,
        help_text="An LLM endpoint id (an operator endpoint or your own, see "
        "/api/v1/llm-endpoints/); null: the operator's default endpoint (LLM_BASE_URL).",
        error_messages={"does_not_exist": UNKNOWN_ENDPOINT},
    )
    # Only accounts the owner may trade; any other id (another user's, or none at all) gets
    # the model's one message, so the answer never tells whether that account exists.
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.all(),
        required=False,
        help_text="The trading account id its orders go to (one you own or are a member of, "
        "see /api/v1/accounts/); default: your default paper account.",
        error_messages={"does_not_exist": ACCOUNT_NOT_USABLE},
    )

    class Meta:
        model = Strategy
        fields = CONFIGURATION_FIELDS
        # The strategies file's bounds (PositionsDefinition), shown in the schema too.
        extra_kwargs = {
            "max_scale_ins": {"min_value": 1},
            "close_before_session_end_min": {"min_value": 1, "max_value": SESSION_END_MAX_MIN},
            # The strategies file's bounds (LimitsDefinition).
            "daily_loss_limit": {"min_value": Decimal("0.01")},
            "max_drawdown_pct": {"min_value": Decimal("0.001"), "max_value": Decimal(100)},
            "max_failed_runs": {"min_value": 1},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Limit ``prompt_template`` to the versions the strategy's owner may use: the
        instance's owner, else ``context["owner"]`` (the creating user; absent: ownerless).
        The version the instance already uses stays valid (it may have been withdrawn from
        publication since)."""
        super().__init__(*args, **kwargs)
        if isinstance(self.instance, Strategy):
            owner_id = self.instance.owner_id
            current = Q(pk=self.instance.prompt_template_id)
        else:
            owner_id = getattr(self.context.get("owner"), "pk", None)
            current = Q(pk__in=[])
        field = self.fields["prompt_template"]
        # The stubs type RelatedField.queryset as a manager descriptor; it is a plain attribute.
        field.queryset = prompt_templates_usable(  # type: ignore[attr-defined]
            owner_id=owner_id
        ) | PromptTemplate.objects.filter(current)
        self.fields["account"].queryset = accounts_of(  # type: ignore[attr-defined]
            user_id=owner_id
        )

    def to_internal_value(self, data: Any) -> Any:
        """DRF's, refusing the removed ``llm_base_url`` / ``llm_api_key_env`` with a field error
        saying what replaced them."""
        if hasattr(data, "keys"):
            removed = {name: [why] for name, why in self.REMOVED_FIELDS.items() if name in data}
            if removed:
                raise serializers.ValidationError(removed)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Check the strategy as it would be saved (instance values, then the changes); a new
        strategy's owner is the creating user (``context["owner"]``)."""
        if self.instance is not None:
            candidate = Strategy(
                **{
                    field.attname: getattr(self.instance, field.attname)
                    for field in Strategy._meta.concrete_fields
                }
            )
        else:
            candidate = Strategy(owner=self.context.get("owner"))
        for field, value in attrs.items():
            setattr(candidate, field, value)
        problems = strategy_problems(strategy=candidate)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class StrategyOutputSerializer(serializers.ModelSerializer[Strategy]):
    """A strategy: its configuration (``symbol``, ``prompt_template`` and ``owner`` as ids;
    ``symbol_code`` the symbol's ticker),
    the next schedule slot ``next_run_at`` (UTC; null while inactive), its latest automatic
    deactivation by a trigger (``auto_deactivated_at`` UTC, null: never;
    ``auto_deactivation_reason``: the limit and the figures) and timestamps."""

    order_type = EntryOrderTypeField(read_only=True)
    close_order_type = EntryOrderTypeField(read_only=True, help_text=CLOSE_ORDER_TYPE_HELP)
    symbol_code = serializers.CharField(source="symbol.symbol", read_only=True)
    account_name = serializers.CharField(
        source="account.name", read_only=True, help_text="The trading account's name."
    )
    llm_endpoint_name = serializers.CharField(
        source="llm_endpoint.name",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The LLM endpoint's name; null: the operator's default endpoint.",
    )

    class Meta:
        model = Strategy
        fields = (
            *READ_ONLY_FIELDS,
            "symbol_code",
            "account_name",
            "llm_endpoint_name",
            *CONFIGURATION_FIELDS,
        )
        read_only_fields = fields


class RunNowInputSerializer(serializers.Serializer[Any]):
    """``as_of``: ISO 8601 (naive means UTC); the run sees only bars closed by then. Default:
    now. A time in the future is refused."""

    as_of = serializers.DateTimeField(required=False)

    def validate_as_of(self, value: datetime) -> datetime:
        """A run as of a future moment would wait for bars that do not exist yet."""
        if value > timezone.now():
            raise serializers.ValidationError("as_of may not be in the future")
        return value


class RunEnqueuedSerializer(serializers.Serializer[Any]):
    """The run created and enqueued: its id and status (``pending`` until a worker takes it)."""

    run_id = serializers.IntegerField()
    status = serializers.CharField()


class NextSlotsInputSerializer(serializers.Serializer[Any]):
    """``count``: how many slots, 1–50 (default 5)."""

    count = serializers.IntegerField(min_value=1, max_value=MAX_NEXT_SLOTS, default=5)


class NextSlotsOutputSerializer(serializers.Serializer[Any]):
    """The next schedule slots after now, in UTC (ISO 8601), earliest first."""

    slots = serializers.ListField(child=serializers.DateTimeField())
