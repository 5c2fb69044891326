"""Input and output shapes of the backtests API.

Times are ISO 8601 (UTC); a plain date as ``start`` means 00:00 UTC of that day and as ``end``
the end of that day, as ``manage.py backtest`` reads them. Money in the strategy symbol's
currency as decimal strings; LLM costs in USD.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.evaluation.models import Backtest, BacktestStatus, BacktestVariant
from apps.lineage.models import LlmCacheMode
from apps.strategies.models import AnalystKind

MAX_VARIANTS = 8
# the longest window a request may ask for: its slots are counted before anything is created
MAX_WINDOW = timedelta(days=3660)


@extend_schema_field(OpenApiTypes.STR)
class MomentField(serializers.Field[datetime, Any, str, Any]):
    """An ISO 8601 date or date-time; a date is its day's first (``end=False``) or last
    (``end=True``) moment in UTC, a naive date-time is UTC; the value is tz-aware UTC."""

    def __init__(self, *, end: bool, **kwargs: Any) -> None:
        self.end = end
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> datetime:
        """The moment (tz-aware UTC); ValidationError for anything but a date or date-time."""
        text = str(data).strip()
        try:  # a well-formed but impossible date (2012-02-30) is a ValueError
            moment = parse_datetime(text) if len(text) > 10 else None
        except ValueError:
            moment = None
        if moment is None:
            day: date | None = None
            try:
                day = parse_date(text)
            except ValueError:
                day = None
            if day is None:
                raise serializers.ValidationError(
                    "Expected an ISO 8601 date (2012-03-01) or date-time (2012-03-01T22:00Z)."
                )
            moment = datetime.combine(day, time.max if self.end else time.min)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def to_representation(self, value: datetime) -> str:
        """ISO 8601."""
        return value.isoformat()


class VariantInputSerializer(serializers.Serializer[Any]):
    """One variant: blank fields keep the strategy's own model, prompt version or analyst."""

    label = serializers.CharField(max_length=128, required=False, allow_blank=True)  # type: ignore[assignment]
    llm_model = serializers.CharField(max_length=128, required=False, allow_blank=True)
    prompt_version = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        allow_null=True,
        help_text="A version number of the strategy's prompt template name.",
    )
    analyst = serializers.ChoiceField(choices=AnalystKind.choices, required=False, allow_blank=True)


class BacktestInputSerializer(serializers.Serializer[Any]):
    """A new backtest: the strategy (id or slug), the window, the variants (none: the strategy
    as it is), the LLM answer cache mode; ``max_cost`` (USD) refuses an estimate above it
    unless ``confirm``."""

    strategy = serializers.CharField(help_text="The strategy's id or slug.")
    start = MomentField(end=False)
    end = MomentField(end=True)
    variants = VariantInputSerializer(many=True, required=False, max_length=MAX_VARIANTS)  # type: ignore[call-arg]
    llm_cache = serializers.ChoiceField(
        choices=LlmCacheMode.choices, required=False, default=LlmCacheMode.OFF
    )
    max_cost = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False, allow_null=True
    )
    confirm = serializers.BooleanField(required=False, default=False)
    anonymise = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Leakage guard: every run is anonymised (the model sees no ticker, company "
        "name or date; see Run.anonymise).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The window must not end before it starts, nor last over ``MAX_WINDOW``."""
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": ["The window ends before it starts."]})
        if attrs["end"] - attrs["start"] > MAX_WINDOW:
            raise serializers.ValidationError(
                {"end": [f"The window is longer than {MAX_WINDOW.days} days."]}
            )
        return attrs


class EstimateInputSerializer(BacktestInputSerializer):
    """The same body as a new backtest, for the cost estimate only."""


class ResumeInputSerializer(serializers.Serializer[Any]):
    """``max_cost`` (USD) refuses a remaining-cost estimate above it unless ``confirm``."""

    max_cost = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False, allow_null=True
    )
    confirm = serializers.BooleanField(required=False, default=False)


class EstimateOutputSerializer(serializers.Serializer[Any]):
    """The LLM cost estimate (USD, no cache hit counted) and the window's schedule slots."""

    estimate_usd = serializers.DecimalField(max_digits=14, decimal_places=6)
    slots = serializers.IntegerField()
    variants = serializers.IntegerField()


class ReplayVariantInputSerializer(VariantInputSerializer):
    """One replay variant: a backtest variant's fields and the LLM endpoint to ask; blank
    fields keep the strategy's own."""

    endpoint = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="The name or id of an LLM endpoint the strategy's owner may use (the "
        "operator's or the owner's own); blank: the strategy's own.",
    )


class ReplayInputSerializer(serializers.Serializer[Any]):
    """A new replay: what it re-executes — a strategy's own live runs (``strategy`` with
    ``start`` and ``end``) or one variant's runs of a backtest (``source_backtest``,
    ``source_position``; its window unless ``start``/``end`` narrow it) — the variants beside
    the original (variant 1), the LLM answer cache mode of their runs; ``max_cost`` (USD)
    refuses an estimate above it unless ``confirm``."""

    strategy = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The strategy's id or slug (its live runs: schedule, manual, api).",
    )
    source_backtest = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        help_text="Replay the runs of this backtest's (or replay's) variant instead.",
    )
    source_position = serializers.IntegerField(
        min_value=1,
        max_value=2**31 - 1,
        required=False,
        default=1,
        help_text="Which variant of source_backtest: its position 1, 2, … (default 1).",
    )
    start = MomentField(end=False, required=False, allow_null=True)
    end = MomentField(end=True, required=False, allow_null=True)
    variants = ReplayVariantInputSerializer(many=True, required=False, max_length=MAX_VARIANTS)  # type: ignore[call-arg]
    llm_cache = serializers.ChoiceField(
        choices=LlmCacheMode.choices,
        required=False,
        default=LlmCacheMode.OFF,
        help_text="The answer cache mode of the variants' runs: off, use, only or refresh "
        "(the original answers with the source runs' recorded answers).",
    )
    max_cost = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False, allow_null=True
    )
    confirm = serializers.BooleanField(required=False, default=False)

    def validate_llm_cache(self, value: str) -> str:
        """Any mode but ``recorded`` (the original variant's alone)."""
        if value == LlmCacheMode.RECORDED:
            raise serializers.ValidationError(
                "recorded answers are the original variant's: use off, use, only or refresh."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A source: ``source_backtest``, or ``strategy`` with ``start`` and ``end``; the
        window must not end before it starts, nor last over ``MAX_WINDOW``."""
        start, end = attrs.get("start"), attrs.get("end")
        if attrs.get("source_backtest") is None:
            missing = {
                field: ["Required to replay a strategy's runs (else give a source_backtest)."]
                for field in ("strategy", "start", "end")
                if not attrs.get(field)
            }
            if missing:
                raise serializers.ValidationError(missing)
        elif attrs.get("strategy"):
            raise serializers.ValidationError(
                {"strategy": ["Give a strategy or a source_backtest, not both."]}
            )
        if start is not None and end is not None:
            if end < start:
                raise serializers.ValidationError({"end": ["The window ends before it starts."]})
            if end - start > MAX_WINDOW:
                raise serializers.ValidationError(
                    {"end": [f"The window is longer than {MAX_WINDOW.days} days."]}
                )
        return attrs


class ReplayEstimateOutputSerializer(serializers.Serializer[Any]):
    """A replay's LLM cost estimate (USD, no cache hit counted; the original answers from
    its recorded answers: 0), its source runs and variants (the original included), and its
    window (ISO 8601, UTC)."""

    estimate_usd = serializers.DecimalField(max_digits=14, decimal_places=6)
    sources = serializers.IntegerField()
    variants = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class VariantOutputSerializer(serializers.ModelSerializer[BacktestVariant]):
    """A variant with its progress: ``slots_done`` of ``slots_total`` schedule slots have a
    run; ``account_id`` its isolated paper account, ``clone_id`` its hidden strategy copy."""

    prompt_version = serializers.SerializerMethodField()
    account_id = serializers.IntegerField(read_only=True)
    clone_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = BacktestVariant
        fields = (
            "id",
            "position",
            "label",
            "llm_model",
            "prompt_template",
            "prompt_version",
            "analyst",
            "recorded_answers",
            "reference",
            "account_id",
            "clone_id",
            "status",
            "error",
            "slots_done",
            "slots_total",
        )
        read_only_fields = fields

    def get_prompt_version(self, variant: BacktestVariant) -> int | None:
        """The version number of the variant's own prompt template (None: the strategy's)."""
        template = variant.prompt_template
        return None if template is None else template.version


class BacktestOutputSerializer(serializers.ModelSerializer[Backtest]):
    """A backtest with its variants and their progress.

    ``kind``: ``backtest`` (every schedule slot of the window) or ``replay`` (stored runs
    re-executed from the llm step). A replay's ``source_variant`` is the backtest variant whose
    runs it re-executes (``source_backtest`` its backtest, ``source_variant_label`` its label);
    null for a replay of the strategy's own live runs, and for a backtest. ``anonymise``: every
    run is anonymised (the leakage guard)."""

    strategy_slug = serializers.CharField(source="strategy.slug", read_only=True)
    strategy_name = serializers.CharField(source="strategy.name", read_only=True)
    symbol = serializers.CharField(source="strategy.symbol.symbol", read_only=True)
    created_by = serializers.SerializerMethodField()
    variants = VariantOutputSerializer(many=True, read_only=True)
    can_cancel = serializers.SerializerMethodField()
    can_resume = serializers.SerializerMethodField()
    source_backtest = serializers.IntegerField(
        source="source_variant.backtest_id", read_only=True, allow_null=True
    )
    source_variant_label = serializers.CharField(
        source="source_variant.label", read_only=True, allow_null=True
    )

    class Meta:
        model = Backtest
        fields = (
            "id",
            "kind",
            "strategy",
            "strategy_slug",
            "strategy_name",
            "symbol",
            "created_by",
            "source_variant",
            "source_backtest",
            "source_variant_label",
            "start",
            "end",
            "llm_cache",
            "anonymise",
            "status",
            "error",
            "created_at",
            "finished_at",
            "can_cancel",
            "can_resume",
            "variants",
        )
        read_only_fields = fields

    def get_created_by(self, backtest: Backtest) -> str | None:
        """The username of who created it (None: the command line)."""
        user = backtest.created_by
        return None if user is None else user.get_username()

    def get_can_cancel(self, backtest: Backtest) -> bool:
        """Pending or running: cancel stops it before the next slot."""
        return backtest.status in CANCELLABLE

    def get_can_resume(self, backtest: Backtest) -> bool:
        """Failed or cancelled: resume runs the slots without a run yet."""
        return backtest.status in RESUMABLE


CANCELLABLE = (BacktestStatus.PENDING, BacktestStatus.RUNNING)
RESUMABLE = (BacktestStatus.FAILED, BacktestStatus.CANCELLED)


class VariantProgressSerializer(serializers.Serializer[Any]):
    """One variant's progress."""

    position = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=BacktestStatus.choices)
    error = serializers.CharField()
    slots_done = serializers.IntegerField()
    slots_total = serializers.IntegerField()


class ProgressOutputSerializer(serializers.Serializer[Any]):
    """The backtest's status and each variant's progress (cheap: for polling)."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=BacktestStatus.choices)
    error = serializers.CharField()
    finished_at = serializers.DateTimeField(allow_null=True)
    variants = VariantProgressSerializer(many=True)


class TradeSerializer(serializers.Serializer[Any]):
    """One round trip of a variant (``apps.evaluation.trades.variant_trades``)."""

    position_id = serializers.IntegerField()
    side = serializers.CharField()
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    entry_price = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    exit_price = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    exit_quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    realized_pnl = serializers.DecimalField(max_digits=20, decimal_places=4)
    commission = serializers.DecimalField(max_digits=20, decimal_places=4)
    r_multiple = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    outcome = serializers.CharField(allow_blank=True)
    opening_run_id = serializers.IntegerField(allow_null=True)
    closing_run_id = serializers.IntegerField(allow_null=True)
    exit_reason = serializers.CharField(allow_blank=True)


class TradesOutputSerializer(serializers.Serializer[Any]):
    """A variant's trades in opening order."""

    backtest = serializers.IntegerField()
    variant = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]
    currency = serializers.CharField()
    trades = TradeSerializer(many=True)


class SeriesPointSerializer(serializers.Serializer[Any]):
    """One trading day: equity, drawdown from the running peak (money) and its fraction."""

    day = serializers.DateField()
    equity = serializers.DecimalField(max_digits=20, decimal_places=4)
    drawdown = serializers.DecimalField(max_digits=20, decimal_places=4)
    drawdown_fraction = serializers.DecimalField(max_digits=10, decimal_places=4, allow_null=True)


class SeriesSerializer(serializers.Serializer[Any]):
    """One curve: a variant (``variant`` its position) or buy-and-hold (``variant`` null)."""

    variant = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]
    reference = serializers.BooleanField(
        required=False,
        help_text="Baseline analyst row: true when it is the added reference variant, false "
        "when it is one of the compared variants.",
    )
    points = SeriesPointSerializer(many=True)


class SeriesOutputSerializer(serializers.Serializer[Any]):
    """Daily equity and drawdown of every variant and of buy-and-hold."""

    backtest = serializers.IntegerField()
    currency = serializers.CharField()
    series = SeriesSerializer(many=True)


class LeakageSpanSerializer(serializers.Serializer[Any]):
    """The window's days a model may have seen: first and last (ISO dates)."""

    start = serializers.DateField()
    end = serializers.DateField()


class ReportRowSerializer(serializers.Serializer[Any]):
    """One row of the report: a variant (``variant`` its position) or buy-and-hold (``variant``
    null). Money as decimal strings in the symbol's currency; ratios as numbers; LLM cost
    USD. Rows may carry more keys than listed (``apps.evaluation.report``)."""

    variant = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()  # type: ignore[assignment]
    reference = serializers.BooleanField(
        required=False,
        help_text="Baseline analyst row: true when it is the added reference variant, false "
        "when it is one of the compared variants.",
    )
    status = serializers.CharField(required=False)
    starting_cash = serializers.CharField()
    capital = serializers.CharField(
        required=False,
        help_text="What the strategy's sizing risks a share of (buy-and-hold: all in), in the "
        "symbol's currency.",
    )
    knowledge_cutoff = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="The variant model's training-data cutoff (null: unknown or no model).",
    )
    leakage_warning = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Set when the cutoff is on or after the window's first day: the model may "
        "have seen this period.",
    )
    leakage_span = LeakageSpanSerializer(
        required=False,
        allow_null=True,
        help_text="The window's days up to the cutoff (null: no overlap).",
    )
    unrealized_pnl = serializers.CharField(
        required=False, help_text="Buy-and-hold: final equity minus the starting cash."
    )
    slots_done = serializers.IntegerField(required=False)
    slots_total = serializers.IntegerField(required=False)
    trades = serializers.IntegerField()
    wins = serializers.IntegerField(required=False)
    losses = serializers.IntegerField(required=False)
    win_rate = serializers.CharField(allow_null=True, required=False)
    average_r = serializers.CharField(allow_null=True, required=False)
    realized_pnl = serializers.CharField()
    commission = serializers.CharField(required=False)
    open_positions = serializers.IntegerField(required=False)
    final_equity = serializers.CharField(allow_null=True)
    max_drawdown = serializers.CharField()
    max_drawdown_fraction = serializers.CharField(allow_null=True)
    sharpe = serializers.FloatField(allow_null=True)
    sortino = serializers.FloatField(allow_null=True)
    exposure = serializers.FloatField(allow_null=True)
    llm_calls = serializers.IntegerField(required=False)
    prompt_tokens = serializers.IntegerField(required=False)
    completion_tokens = serializers.IntegerField(required=False)
    llm_cost_usd = serializers.CharField(required=False)
    llm_model = serializers.CharField(required=False, allow_blank=True)
    analyst = serializers.CharField(required=False, allow_blank=True)
    prompt_template_id = serializers.IntegerField(required=False, allow_null=True)
    entry_price = serializers.CharField(required=False, allow_null=True)
    quantity = serializers.CharField(required=False)


class ReportOutputSerializer(serializers.Serializer[Any]):
    """The report (``apps.evaluation.report.backtest_report``): the window, its slots and
    trading days, one row per compared variant, the baseline analyst and buy-and-hold
    reference rows. Variant rows also
    hold ``trade_list`` and daily ``equity`` (see the trades and series routes)."""

    backtest = serializers.IntegerField()
    strategy = serializers.CharField()
    symbol = serializers.CharField()
    currency = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    status = serializers.CharField()
    slots = serializers.IntegerField()
    trading_days = serializers.IntegerField()
    anonymise = serializers.BooleanField(
        help_text="Every run of the backtest is anonymised (the leakage guard)."
    )
    variants = ReportRowSerializer(many=True)
    baseline_analyst = ReportRowSerializer(
        allow_null=True,
        help_text="The baseline analyst (rule-based) over the same slots: a reference row "
        "(null for a backtest without one, e.g. a replay).",
    )
    buy_and_hold = ReportRowSerializer()
