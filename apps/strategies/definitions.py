"""Strategies as code: the YAML file format, validated with pydantic.

Top-level keys: ``symbols`` (instruments to declare), ``prompt_templates`` (named Jinja2 bodies)
and ``strategies``. Every field is documented in docs/strategies-file.md.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from apps.analysis.prompts import prompt_template_body_check
from apps.marketdata.bar_sizes import validate_bar_size
from apps.marketdata.indicators import parse_indicator_specs
from apps.symbols.calendars import calendar_names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SymbolDefinition(_Strict):
    """An instrument; ``symbol`` + ``sec_type`` + ``currency`` identify it."""

    symbol: str
    sec_type: Literal["STK", "CASH", "CRYPTO", "FUT", "IND"] = "STK"
    exchange: str = "SMART"
    primary_exchange: str = ""
    currency: str = "USD"
    description: str = ""
    timezone: str = "UTC"
    min_tick: Decimal = Decimal("0.01")
    conid: int | None = None
    trading_calendar: str = ""

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _timezone(value)

    @field_validator("trading_calendar")
    @classmethod
    def _known_calendar(cls, value: str) -> str:
        if value and value not in calendar_names():
            raise ValueError(f"unknown exchange calendar {value!r} (e.g. XNYS, XNAS, XLON)")
        return value


class PromptTemplateDefinition(_Strict):
    """A named template body (at most PROMPT_TEMPLATE_MAX_CHARS characters); a changed body
    becomes the next version."""

    name: str = Field(pattern=r"^[-a-zA-Z0-9_]+$", max_length=64)
    body: str = Field(min_length=1)

    @field_validator("body")
    @classmethod
    def _body_within_limit(cls, value: str) -> str:
        prompt_template_body_check(value)
        return value


class ScheduleDefinition(_Strict):
    """A cron expression evaluated in an IANA timezone."""

    cron: str
    timezone: str = "UTC"
    catch_up: Literal["latest", "none"] = "latest"
    skip_closed_market: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"invalid cron expression {value!r}")
        # croniter reads a sixth field as seconds (and a seventh as years): a schedule is the
        # standard five (minute hour day-of-month month day-of-week), or an @daily-style alias.
        if not value.strip().startswith("@") and len(value.split()) != 5:
            raise ValueError(
                f"cron expression {value!r} must have five fields: minute hour day-of-month "
                "month day-of-week (seconds are not supported)"
            )
        try:  # valid syntax that never fires (0 0 31 2 *) would stall the scheduler
            croniter(value, datetime.now(UTC)).get_next(datetime)
        except CroniterBadDateError as error:
            raise ValueError(f"cron expression {value!r} never fires") from error
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _timezone(value)


REMOVED_LLM_KEYS = ("base_url", "api_key_env")


class LlmDefinition(_Strict):
    """Which analyst answers, and the model settings for ``openai``.

    ``endpoint`` names an LLM endpoint (an operator endpoint or the file owner's own; empty:
    the operator's default endpoint, ``LLM_BASE_URL``); it is resolved when the file is
    applied. The removed ``base_url`` and ``api_key_env`` keys are refused with a message
    saying what to use instead.
    """

    analyst: Literal["baseline", "openai"] = "baseline"
    model: str = ""
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=800, ge=16, le=32000)
    endpoint: str = Field(default="", max_length=64)
    timeout_s: float | None = Field(default=None, gt=0, le=600)
    accepts_images: bool = True
    response_format: Literal["auto", "json_schema", "json_object", "text"] = "auto"
    fallback_model: str = Field(default="", max_length=128)
    budget_daily_usd: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    budget_monthly_usd: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)

    @model_validator(mode="before")
    @classmethod
    def _no_removed_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            removed = [key for key in REMOVED_LLM_KEYS if key in data]
            if removed:
                raise ValueError(
                    f"llm.{' and llm.'.join(removed)} no longer exist: an endpoint's URL and "
                    "key are kept as an LLM endpoint (admin, or /api/v1/llm-endpoints/), and a "
                    "strategy names it with llm.endpoint: <name> (no endpoint: LLM_BASE_URL)"
                )
        return data


class RiskDefinition(_Strict):
    """Money in the symbol's currency; percentages 0–100; confidence 0–1."""

    capital: Decimal = Field(default=Decimal("100000"), gt=0)
    risk_per_trade_pct: Decimal = Field(default=Decimal("1"), gt=0, le=100)
    max_position_quantity: Decimal = Field(default=Decimal("1000"), gt=0)
    max_order_notional: Decimal = Field(default=Decimal("50000"), gt=0)
    min_confidence: Decimal = Field(default=Decimal("0.6"), ge=0, le=1)
    min_reward_risk: Decimal = Field(default=Decimal("1.5"), ge=0)
    max_entry_deviation_pct: Decimal = Field(default=Decimal("2"), ge=0)


class LimitsDefinition(_Strict):
    """The automatic triggers' limits (``apps.strategies.triggers``); null turns one off. A
    breached limit deactivates the strategy. Money in the symbol's currency."""

    daily_loss_limit: Decimal | None = Field(default=None, gt=0, max_digits=20, decimal_places=2)
    max_drawdown_pct: Decimal | None = Field(
        default=None, gt=0, le=100, max_digits=6, decimal_places=3
    )
    max_failed_runs: int | None = Field(default=None, ge=1, le=32767)


class OrderDefinition(_Strict):
    """The entry order's type and time in force (children are always GTC)."""

    type: Literal["MKT", "LMT"] = "LMT"
    time_in_force: Literal["DAY", "GTC"] = "DAY"


SESSION_END_MAX_MIN = 240


class PositionsDefinition(_Strict):
    """What the strategy does with the position it holds (openspec positions spec): a signal
    against it, one in its direction, a HOLD, and the end of the exchange session."""

    opposite_signal: Literal["close", "reverse"] = "close"
    close_order_type: Literal["MKT", "LMT"] = "MKT"
    scale_in: bool = False
    max_scale_ins: int = Field(default=1, ge=1, le=32767)
    scale_in_exits: Literal["newest", "keep"] = "newest"
    trail_stop: bool = False
    close_before_session_end_min: int | None = Field(default=None, ge=1, le=SESSION_END_MAX_MIN)


class StrategyDefinition(_Strict):
    """One strategy; ``slug`` is its identity across applies."""

    slug: str = Field(pattern=r"^[-a-z0-9_]+$", max_length=64)
    name: str
    symbol: str
    sec_type: str = "STK"
    currency: str = "USD"
    bar_size: str
    lookback: int = Field(default=200, ge=10, le=5000)
    indicators: list[dict[str, object]] = Field(default_factory=list)
    prompt_template: str
    llm: LlmDefinition = Field(default_factory=LlmDefinition)
    schedule: ScheduleDefinition
    risk: RiskDefinition = Field(default_factory=RiskDefinition)
    order: OrderDefinition = Field(default_factory=OrderDefinition)
    positions: PositionsDefinition = Field(default_factory=PositionsDefinition)
    limits: LimitsDefinition = Field(default_factory=LimitsDefinition)
    mode: Literal["paper", "live"] = "paper"
    active: bool = True
    account: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="The name of the trading account it trades, among its owner's and those "
        "the owner is a member of; absent: a new strategy trades the owner's default paper "
        "account and an existing one keeps its account.",
    )

    @field_validator("bar_size")
    @classmethod
    def _known_bar_size(cls, value: str) -> str:
        try:
            return validate_bar_size(value)
        except Exception as error:
            raise ValueError(str(error)) from error

    @field_validator("indicators")
    @classmethod
    def _valid_indicators(cls, value: list[dict[str, object]]) -> list[dict[str, object]]:
        try:
            parse_indicator_specs(value)
        except Exception as error:
            raise ValueError(str(error)) from error
        return value


class StrategiesFile(_Strict):
    """The whole file; symbols, template names and strategy slugs each appear at most once."""

    symbols: list[SymbolDefinition] = Field(default_factory=list)
    prompt_templates: list[PromptTemplateDefinition] = Field(default_factory=list)
    strategies: list[StrategyDefinition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_duplicates(self) -> "StrategiesFile":
        # A repeated entry would be applied twice, so the file could never be "unchanged".
        problems = [
            f"duplicate {kind} {sorted(repeated)}"
            for kind, keys in (
                ("symbol", [f"{s.symbol} {s.sec_type} {s.currency}" for s in self.symbols]),
                ("prompt template", [t.name for t in self.prompt_templates]),
                ("strategy slug", [d.slug for d in self.strategies]),
            )
            if (repeated := {key for key in keys if keys.count(key) > 1})
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown IANA timezone {value!r}") from error
    return value
