"""Strategies: what to trade, how to analyse it, when to run it and how much to risk."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from apps.analysis.selectors import prompt_template_usable
from apps.orders.models import ENTRY_ORDER_TYPE_CHOICES, OrderType
from apps.trading.models import EquityMark
from apps.trading.selectors import account_exposure, accounts_of

ACCOUNT_NOT_USABLE = "No such trading account among the owner's and those they are a member of."
PROMPT_TEMPLATE_NOT_USABLE = (
    "No such prompt template version among the owner's and the published ones."
)


class TimeInForce(models.TextChoices):
    DAY = "DAY"
    GTC = "GTC"


class TradingMode(models.TextChoices):
    PAPER = "paper"
    LIVE = "live"


class AnalystKind(models.TextChoices):
    BASELINE = "baseline"
    OPENAI = "openai"


class OppositeSignal(models.TextChoices):
    """What a signal against the strategy's own open position does."""

    CLOSE = "close", "close the position"
    REVERSE = "reverse", "close, then open the opposite bracket once the close fills"


class ScaleInExits(models.TextChoices):
    """The protective orders after a scale-in fills: always resized to the whole quantity;
    their prices moved to the newest signal's stop and target, or kept."""

    NEWEST = "newest", "move stop and target to the newest signal's"
    KEEP = "keep", "keep the stop and target prices"


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
    account = models.ForeignKey(
        "trading.Account",
        on_delete=models.PROTECT,
        related_name="strategies",
        help_text="The trading account its orders go to and its positions are held in.",
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
    llm_endpoint = models.ForeignKey(
        "analysis.LlmEndpoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="strategies",
        help_text="An operator endpoint or the owner's own; blank: the operator's default "
        "endpoint (LLM_BASE_URL).",
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
    llm_budget_daily_usd = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this strategy's model calls may cost per UTC day (USD, LLM_PRICES); "
        "blank: no strategy limit.",
    )
    llm_budget_monthly_usd = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Most this strategy's model calls may cost per UTC calendar month (USD); "
        "blank: no strategy limit.",
    )
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
    opposite_signal = models.CharField(
        max_length=8,
        choices=OppositeSignal.choices,
        default=OppositeSignal.CLOSE,
        help_text="A SELL while long (or BUY while short): close, or reverse.",
    )
    close_order_type = models.CharField(
        max_length=8,
        choices=ENTRY_ORDER_TYPE_CHOICES,
        default=OrderType.MARKET,
        help_text="A signal's close: at market, or a limit at the signal's entry.",
    )
    scale_in = models.BooleanField(
        default=False, help_text="A signal in the direction already held adds to the position."
    )
    max_scale_ins = models.PositiveSmallIntegerField(
        default=1, help_text="Added entries per position lifetime, at most."
    )
    scale_in_exits = models.CharField(
        max_length=8, choices=ScaleInExits.choices, default=ScaleInExits.NEWEST
    )
    trail_stop = models.BooleanField(
        default=False,
        help_text="A HOLD whose stop only tightens moves the position's stop to it.",
    )
    close_before_session_end_min = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Close positions and cancel working orders this many minutes before the "
        "exchange's session ends (blank: never).",
    )
    trading_mode = models.CharField(
        max_length=8, choices=TradingMode.choices, default=TradingMode.PAPER
    )
    backtest_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="backtest_clones",
        help_text="Set on a backtest's hidden copy of a strategy (apps.evaluation): the "
        "strategy it evaluates. Such copies are inactive and not listed.",
    )
    daily_loss_limit = models.DecimalField(
        max_digits=20,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Automatic deactivation: when the strategy's P&L since the start of the UTC "
        "day (realized + unrealized, its symbol's currency) loses this much; blank: off.",
    )
    max_drawdown_pct = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="Automatic deactivation: when its equity (capital + P&L) falls this many "
        "percent (0–100) below its high-water mark; blank: off.",
    )
    max_failed_runs = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Automatic deactivation after this many failed runs in a row; blank: off.",
    )
    auto_deactivated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When an automatic trigger last deactivated it (UTC); blank: never.",
    )
    auto_deactivation_reason = models.TextField(
        blank=True, help_text="Why an automatic trigger last deactivated it (limit and figures)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "strategies"
        indexes = [models.Index(fields=["is_active", "next_run_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(daily_loss_limit__isnull=True)
                | models.Q(daily_loss_limit__gt=0),
                name="strategy_daily_loss_limit_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(max_drawdown_pct__isnull=True)
                | models.Q(max_drawdown_pct__gt=0, max_drawdown_pct__lte=100),
                name="strategy_max_drawdown_pct_range",
            ),
            models.CheckConstraint(
                condition=models.Q(max_failed_runs__isnull=True) | models.Q(max_failed_runs__gt=0),
                name="strategy_max_failed_runs_positive",
            ),
        ]
        # Granted in the admin to users or groups; checked by apps.strategies.live_trading.
        permissions = [("trade_live", "Can set, run and activate live strategies")]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        """Raise ValidationError on ``prompt_template`` when the owner may not use it: a strategy
        uses its owner's templates (an ownerless one: the operator's) or published ones
        (``apps.analysis.selectors.prompt_templates_usable``).

        Checked only when the strategy is new or its template or owner changed, so a strategy
        keeps running a version whose name was withdrawn from publication after it was chosen.
        The message is the same whether the version exists or not (no names leak).
        """
        super().clean()
        self._clean_account()
        if self.prompt_template_id is None:
            return
        if self.pk is not None:
            stored = Strategy.objects.filter(pk=self.pk).values_list(
                "prompt_template_id", "owner_id"
            )
            if stored.first() == (self.prompt_template_id, self.owner_id):
                return
        if not prompt_template_usable(template_id=self.prompt_template_id, owner_id=self.owner_id):
            raise ValidationError({"prompt_template": PROMPT_TEMPLATE_NOT_USABLE})

    def _clean_account(self) -> None:
        """Raise ValidationError on ``account`` when the owner may not trade it (an account is
        traded by its owner and members; an ownerless strategy trades the operator's
        accounts). The message is the same whether the account exists or not (no names leak).
        Whether the account's broker suits the trading mode is checked where orders are sent
        (``apps.orders.broker_selection.broker_for``)."""
        if self.account_id is None:
            return
        if not accounts_of(user_id=self.owner_id).filter(pk=self.account_id).exists():
            raise ValidationError({"account": ACCOUNT_NOT_USABLE})
        self._clean_account_move()

    def _clean_account_move(self) -> None:
        """Raise ValidationError on ``account`` when a stored strategy moves to another
        account while it has an open strategy position or an unfinished order (pending,
        submitting, submitted, partially filled) on the old one: its positions and protective
        orders belong to the old account, so they are closed or cancelled first. The message
        names them (``apps.trading.selectors.account_exposure``)."""
        if self.pk is None:
            return
        stored = Strategy.objects.filter(pk=self.pk).values_list("account_id", flat=True).first()
        if stored is None or stored == self.account_id:
            return
        open_now = account_exposure(account_id=stored, strategy_id=self.pk)
        if open_now:
            raise ValidationError(
                {
                    "account": (
                        f"{self.name} cannot move to another account while it has open "
                        f"positions or working orders on its account: {'; '.join(open_now)}. "
                        "Close the positions and cancel the orders first."
                    )
                }
            )


class StrategyEquityMark(EquityMark):
    """The strategy's equity (capital + P&L, its symbol's currency) as its daily loss and
    drawdown limits last saw it; one row per strategy, locked while a check runs."""

    strategy = models.OneToOneField(Strategy, on_delete=models.CASCADE, related_name="equity_mark")

    def __str__(self) -> str:
        return f"strategy {self.strategy_id}: {self.equity} {self.currency}"
