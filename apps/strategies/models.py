"""Strategies: what to trade, how to analyse it, when to run it and how much to risk."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from apps.orders.models import ENTRY_ORDER_TYPE_CHOICES, OrderType


class TimeInForce(models.TextChoices):
    DAY = "DAY"
    GTC = "GTC"


class TradingMode(models.TextChoices):
    PAPER = "paper"
    LIVE = "live"


class AnalystKind(models.TextChoices):
    BASELINE = "baseline"
    OPENAI = "openai"


class CatchUp(models.TextChoices):
    """What the dispatcher does with slots missed while it was down."""

    LATEST = "latest", "run the latest missed slot"
    NONE = "none", "skip missed slots"


class Strategy(models.Model):
    """A trader's strategy; risk money in the symbol's currency, percentages as 0–100."""

    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="strategies",
        help_text="The trader it belongs to; without one only staff see it.",
    )
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    bar_size = models.CharField(max_length=16)
    lookback = models.PositiveIntegerField(default=200, help_text="Bars given to the analysis.")
    indicators = models.JSONField(default=list, blank=True)
    prompt_template = models.ForeignKey(
        "analysis.PromptTemplate", on_delete=models.PROTECT, related_name="strategies"
    )
    analyst = models.CharField(
        max_length=16, choices=AnalystKind.choices, default=AnalystKind.BASELINE
    )
    llm_model = models.CharField(max_length=128, blank=True)
    llm_temperature = models.FloatField(default=0.0)
    llm_max_tokens = models.PositiveIntegerField(default=800)
    llm_base_url = models.CharField(
        max_length=255, blank=True, help_text="OpenAI-compatible endpoint; blank: LLM_BASE_URL."
    )
    llm_api_key_env = models.CharField(
        max_length=64,
        blank=True,
        help_text="Name of the environment variable holding the key (never the key itself); "
        "blank: LLM_API_KEY.",
    )
    llm_timeout_s = models.FloatField(null=True, blank=True, help_text="Blank: LLM_TIMEOUT_S.")
    llm_accepts_images = models.BooleanField(
        default=True, help_text="Send the chart PNG; otherwise a text summary of the chart."
    )
    llm_response_format = models.CharField(
        max_length=16,
        default="auto",
        choices=[
            ("auto", "negotiate"),
            ("json_schema", "json_schema"),
            ("json_object", "json_object with schema"),
            ("text", "plain text"),
        ],
    )
    llm_fallback_model = models.CharField(max_length=128, blank=True)
    schedule_cron = models.CharField(max_length=128, default="0 22 * * 1-5")
    schedule_timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    catch_up = models.CharField(max_length=8, choices=CatchUp.choices, default=CatchUp.LATEST)
    skip_closed_market = models.BooleanField(
        default=False, help_text="Skip slots on days the symbol's exchange has no session."
    )
    next_run_at = models.DateTimeField(
        null=True, blank=True, help_text="The next schedule slot (UTC), kept by the dispatcher."
    )
    capital = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("100000"))
    risk_per_trade_pct = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("1"))
    max_position_quantity = models.DecimalField(
        max_digits=20, decimal_places=4, default=Decimal("1000")
    )
    max_order_notional = models.DecimalField(
        max_digits=20, decimal_places=2, default=Decimal("50000")
    )
    min_confidence = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.6"))
    min_reward_risk = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("1.5"))
    max_entry_deviation_pct = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("2"),
        help_text="How far entry may be from the last close, in percent.",
    )
    order_type = models.CharField(
        max_length=8, choices=ENTRY_ORDER_TYPE_CHOICES, default=OrderType.LIMIT
    )
    time_in_force = models.CharField(
        max_length=8, choices=TimeInForce.choices, default=TimeInForce.DAY
    )
    trading_mode = models.CharField(
        max_length=8, choices=TradingMode.choices, default=TradingMode.PAPER
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "strategies"
        indexes = [models.Index(fields=["is_active", "next_run_at"])]
        # Granted in the admin to users or groups; checked by apps.strategies.live_trading.
        permissions = [("trade_live", "Can set, run and activate live strategies")]

    def __str__(self) -> str:
        return self.slug
