"""Strategies as code: apply_strategies creates, updates by slug, is idempotent, all or nothing."""

import copy
from collections.abc import Callable, Mapping
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.analysis.models import PromptTemplate
from apps.strategies.models import Strategy
from apps.strategies.services import StrategiesFileError, strategies_apply
from apps.symbols.models import Symbol
from apps.trading.services import account_default_for
from tests.factories import AccountFactory, UserFactory
from tests.strategies.helpers import DEMO_FILE, GOOG_SLUG, Document, strategy_of, write

pytestmark = pytest.mark.django_db

EUR_SLUG = "eurusd-hourly-momentum"
STRICT_SLUG = "goog-daily-strict"
TREND_SLUG = "goog-daily-trend"
ALL_SLUGS = [GOOG_SLUG, STRICT_SLUG, TREND_SLUG, EUR_SLUG]


def demo() -> Document:
    document: Document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    return document


def apply_command(path: Path) -> str:
    out = StringIO()
    call_command("apply_strategies", str(path), stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Strategy.objects.count(), Symbol.objects.count(), PromptTemplate.objects.count()


def snapshot() -> list[Mapping[str, object]]:
    """Every row the apply can touch, to prove a failed apply changed nothing."""
    rows: list[Mapping[str, object]] = []
    rows.extend(Strategy.objects.order_by("pk").values())
    rows.extend(Symbol.objects.order_by("pk").values())
    rows.extend(PromptTemplate.objects.order_by("pk").values())
    return rows


def test_demo_file_creates_four_strategies_two_symbols_one_template() -> None:
    report = strategies_apply(path=DEMO_FILE)
    assert report.created == ALL_SLUGS
    assert report.updated == [] and report.unchanged == []
    assert counts() == (4, 2, 1)
    template = PromptTemplate.objects.get()
    assert (template.name, template.version) == ("swing-default", 1)


def test_demo_values_are_stored() -> None:
    strategies_apply(path=DEMO_FILE)
    goog = Strategy.objects.select_related("symbol", "prompt_template").get(slug=GOOG_SLUG)
    assert goog.name == "GOOG daily swing"
    assert (goog.symbol.symbol, goog.symbol.sec_type, goog.symbol.currency) == (
        "GOOG",
        "STK",
        "USD",
    )
    assert goog.symbol.primary_exchange == "NASDAQ"
    assert goog.symbol.timezone == "America/New_York"
    assert (goog.bar_size, goog.lookback) == ("1 day", 200)
    assert goog.indicators[0] == {"name": "RSI", "params": {"timeperiod": 14}}
    assert goog.indicators[3] == {"name": "SMA", "key": "SMA50", "params": {"timeperiod": 50}}
    assert str(goog.prompt_template) == "swing-default v1"
    assert (goog.analyst, goog.llm_model, goog.llm_temperature, goog.llm_max_tokens) == (
        "openai",
        "",
        0.0,
        800,
    )
    assert (goog.schedule_cron, goog.schedule_timezone) == ("30 16 * * 1-5", "America/New_York")
    assert goog.capital == Decimal("100000")
    assert goog.max_position_quantity == Decimal("500")
    assert goog.max_order_notional == Decimal("100000")
    assert goog.min_confidence == Decimal("0.6")
    assert (goog.order_type, goog.time_in_force) == ("LMT", "GTC")
    assert (goog.trading_mode, goog.is_active) == ("paper", True)

    eur = Strategy.objects.select_related("symbol").get(slug=EUR_SLUG)
    assert (eur.symbol.symbol, eur.symbol.sec_type) == ("EUR", "CASH")
    assert eur.symbol.min_tick == Decimal("0.00005")
    assert eur.risk_per_trade_pct == Decimal("0.5")
    assert eur.order_type == "MKT"


def test_defaults_fill_omitted_fields(tmp_path: Path) -> None:
    document: Document = {
        "symbols": [{"symbol": "XYZ"}],
        "prompt_templates": [{"name": "t", "body": "{{ symbol.symbol }}"}],
        "strategies": [
            {
                "slug": "minimal",
                "name": "Minimal",
                "symbol": "XYZ",
                "bar_size": "1 day",
                "prompt_template": "t",
                "schedule": {"cron": "0 22 * * 1-5"},
            }
        ],
    }
    strategies_apply(path=write(tmp_path, document))
    symbol = Symbol.objects.get()
    assert (symbol.sec_type, symbol.exchange, symbol.primary_exchange, symbol.currency) == (
        "STK",
        "SMART",
        "",
        "USD",
    )
    assert (symbol.timezone, symbol.min_tick, symbol.conid) == ("UTC", Decimal("0.01"), None)
    strategy = Strategy.objects.get()
    assert (strategy.lookback, strategy.indicators, strategy.schedule_timezone) == (200, [], "UTC")
    assert (strategy.analyst, strategy.llm_model) == ("baseline", "")
    assert (strategy.llm_temperature, strategy.llm_max_tokens) == (0.0, 800)
    assert (strategy.capital, strategy.risk_per_trade_pct) == (Decimal("100000"), Decimal("1"))
    assert strategy.max_position_quantity == Decimal("1000")
    assert strategy.max_order_notional == Decimal("50000")
    assert (strategy.min_confidence, strategy.min_reward_risk) == (Decimal("0.6"), Decimal("1.5"))
    assert strategy.max_entry_deviation_pct == Decimal("2")
    assert (strategy.order_type, strategy.time_in_force) == ("LMT", "DAY")
    assert (strategy.trading_mode, strategy.is_active) == ("paper", True)


def test_empty_file_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    report = strategies_apply(path=path)
    assert (report.created, report.updated, report.unchanged) == ([], [], [])
    assert counts() == (0, 0, 0)


def test_applying_twice_is_unchanged_and_creates_nothing() -> None:
    strategies_apply(path=DEMO_FILE)
    before = snapshot()
    report = strategies_apply(path=DEMO_FILE)
    assert report.unchanged == ALL_SLUGS
    assert report.created == [] and report.updated == []
    assert counts() == (4, 2, 1)
    assert snapshot() == before


def test_command_reports_created_then_unchanged() -> None:
    slugs = ", ".join(ALL_SLUGS)
    assert apply_command(DEMO_FILE) == f"created: {slugs}\n"
    assert apply_command(DEMO_FILE) == f"unchanged: {slugs}\n"
    assert counts() == (4, 2, 1)


def test_changed_field_updates_the_strategy_by_slug(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    original = Strategy.objects.get(slug=GOOG_SLUG)
    document = demo()
    goog = strategy_of(document, GOOG_SLUG)
    goog["name"] = "GOOG daily swing (tighter)"
    goog["risk"]["min_confidence"] = "0.75"
    goog["active"] = False

    assert apply_command(write(tmp_path, document)) == (
        f"updated: {GOOG_SLUG}\nunchanged: {STRICT_SLUG}, {TREND_SLUG}, {EUR_SLUG}\n"
    )
    updated = Strategy.objects.get(slug=GOOG_SLUG)
    assert updated.pk == original.pk
    assert updated.name == "GOOG daily swing (tighter)"
    assert updated.min_confidence == Decimal("0.75")
    assert updated.is_active is False
    assert counts() == (4, 2, 1)


def test_changed_symbol_field_updates_the_symbol(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    pk = Symbol.objects.get(symbol="GOOG").pk
    document = demo()
    document["symbols"][0]["description"] = "Alphabet Inc."
    document["symbols"][0]["conid"] = 208813720
    strategies_apply(path=write(tmp_path, document))
    symbol = Symbol.objects.get(symbol="GOOG")
    assert (symbol.pk, symbol.description, symbol.conid) == (pk, "Alphabet Inc.", 208813720)
    assert Symbol.objects.count() == 2


def test_changed_template_body_adds_version_two_used_by_strategies(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    document = demo()
    document["prompt_templates"][0]["body"] += "\nAnswer briefly.\n"
    path = write(tmp_path, document)

    report = strategies_apply(path=path)
    assert report.updated == ALL_SLUGS
    versions = list(PromptTemplate.objects.order_by("version").values_list("name", "version"))
    assert versions == [("swing-default", 1), ("swing-default", 2)]
    for strategy in Strategy.objects.select_related("prompt_template"):
        assert strategy.prompt_template.version == 2
        assert strategy.prompt_template.body.endswith("Answer briefly.\n")
    assert PromptTemplate.objects.get(version=1).body == demo()["prompt_templates"][0]["body"]

    again = strategies_apply(path=path)
    assert again.unchanged == ALL_SLUGS
    assert PromptTemplate.objects.count() == 2


def test_name_at_version_pins_that_version(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    document = demo()
    document["prompt_templates"][0]["body"] = "Version two: {{ symbol.symbol }}"
    strategy_of(document, GOOG_SLUG)["prompt_template"] = "swing-default@1"
    strategies_apply(path=write(tmp_path, document))

    goog = Strategy.objects.select_related("prompt_template").get(slug=GOOG_SLUG)
    eur = Strategy.objects.select_related("prompt_template").get(slug=EUR_SLUG)
    assert str(goog.prompt_template) == "swing-default v1"
    assert str(eur.prompt_template) == "swing-default v2"

    strategy_of(document, GOOG_SLUG)["prompt_template"] = "swing-default@2"
    report = strategies_apply(path=write(tmp_path, document))
    assert report.updated == [GOOG_SLUG] and report.unchanged == [STRICT_SLUG, TREND_SLUG, EUR_SLUG]


def test_template_may_be_declared_in_an_earlier_apply(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    document = demo()
    del document["prompt_templates"]
    report = strategies_apply(path=write(tmp_path, document))
    assert report.unchanged == ALL_SLUGS


# Each mutation makes the demo file invalid; ``message`` must appear in the error.
Mutation = Callable[[Document], None]


def _set_strategy(field: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        strategy_of(document, GOOG_SLUG)[field] = value

    return mutate


def _set_nested(section: str, field: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        strategy_of(document, GOOG_SLUG)[section][field] = value

    return mutate


def _set_symbol(field: str, value: object) -> Mutation:
    def mutate(document: Document) -> None:
        document["symbols"][0][field] = value

    return mutate


def _add_top_level(document: Document) -> None:
    document["accounts"] = []


def _duplicate_strategy(document: Document) -> None:
    document["strategies"].append(copy.deepcopy(document["strategies"][0]))


def _duplicate_template(document: Document) -> None:
    document["prompt_templates"].append({"name": "swing-default", "body": "other"})


def _duplicate_symbol(document: Document) -> None:
    document["symbols"].append({"symbol": "GOOG", "description": "again"})


INVALID: list[Any] = [
    pytest.param(
        _set_nested("schedule", "cron", "61 * * * *"),
        "strategies.0.schedule.cron: Value error, invalid cron expression '61 * * * *'",
        id="invalid-cron",
    ),
    pytest.param(
        _set_nested("schedule", "timezone", "Mars/Olympus"),
        "strategies.0.schedule.timezone: Value error, unknown IANA timezone 'Mars/Olympus'",
        id="unknown-schedule-timezone",
    ),
    pytest.param(
        _set_symbol("timezone", "Europe/Atlantis"),
        "symbols.0.timezone: Value error, unknown IANA timezone 'Europe/Atlantis'",
        id="unknown-symbol-timezone",
    ),
    pytest.param(
        _set_strategy("bar_size", "2 days"),
        "strategies.0.bar_size: Value error, unknown bar size '2 days'",
        id="unknown-bar-size",
    ),
    pytest.param(
        _set_strategy("indicators", [{"name": "NOT_AN_INDICATOR"}]),
        "strategies.0.indicators: Value error, unknown TA-Lib function 'NOT_AN_INDICATOR'",
        id="unknown-indicator",
    ),
    pytest.param(
        _set_strategy("indicators", [{"name": "RSI", "params": {"period": 14}}]),
        "unknown parameter(s) ['period']",
        id="unknown-indicator-parameter",
    ),
    pytest.param(
        _set_strategy("indicators", [{"name": "RSI"}, {"name": "rsi"}]),
        "duplicate indicator key(s) ['RSI']",
        id="duplicate-indicator-key",
    ),
    pytest.param(
        _set_strategy("stop_loss_pct", 2),
        "strategies.0.stop_loss_pct: Extra inputs are not permitted",
        id="unknown-strategy-field",
    ),
    pytest.param(
        _set_nested("risk", "max_drawdown", "10"),
        "strategies.0.risk.max_drawdown: Extra inputs are not permitted",
        id="unknown-risk-field",
    ),
    pytest.param(
        _set_symbol("ticker", "GOOG"),
        "symbols.0.ticker: Extra inputs are not permitted",
        id="unknown-symbol-field",
    ),
    pytest.param(
        _add_top_level, "accounts: Extra inputs are not permitted", id="unknown-top-level-key"
    ),
    pytest.param(_set_strategy("slug", "GOOG Daily"), "strategies.0.slug", id="bad-slug"),
    pytest.param(_set_strategy("mode", "yolo"), "strategies.0.mode", id="unknown-mode"),
    pytest.param(_set_strategy("lookback", 5), "strategies.0.lookback", id="lookback-too-small"),
    pytest.param(
        _set_nested("llm", "analyst", "claude"), "strategies.0.llm.analyst", id="unknown-analyst"
    ),
    pytest.param(
        _set_nested("llm", "temperature", 3), "strategies.0.llm.temperature", id="temperature"
    ),
    pytest.param(
        _set_nested("order", "type", "STP"), "strategies.0.order.type", id="unknown-order-type"
    ),
    pytest.param(
        _set_nested("risk", "risk_per_trade_pct", "150"),
        "strategies.0.risk.risk_per_trade_pct: Input should be less than or equal to 100",
        id="percentage-over-100",
    ),
    pytest.param(
        _set_nested("risk", "min_confidence", "60"),
        "strategies.0.risk.min_confidence: Input should be less than or equal to 1",
        id="confidence-over-1",
    ),
    pytest.param(
        _set_nested("risk", "capital", "0"),
        "strategies.0.risk.capital: Input should be greater than 0",
        id="zero-capital",
    ),
    pytest.param(_set_symbol("sec_type", "BOND"), "symbols.0.sec_type", id="unknown-sec-type"),
    pytest.param(
        _duplicate_strategy,
        "(file): Value error, duplicate strategy slug ['goog-daily-swing']",
        id="duplicate-slug",
    ),
    pytest.param(_duplicate_template, "duplicate prompt template", id="duplicate-template"),
    pytest.param(_duplicate_symbol, "duplicate symbol ['GOOG STK USD']", id="duplicate-symbol"),
    pytest.param(
        _set_strategy("symbol", "MSFT"),
        "strategy goog-daily-swing: unknown symbol MSFT STK USD; declare it under 'symbols'",
        id="unknown-symbol",
    ),
    pytest.param(
        _set_strategy("currency", "EUR"),
        "unknown symbol GOOG STK EUR",
        id="symbol-in-another-currency",
    ),
    pytest.param(
        _set_strategy("prompt_template", "no-such-template"),
        "strategy goog-daily-swing: unknown prompt template 'no-such-template'",
        id="unknown-prompt-template",
    ),
    pytest.param(
        _set_strategy("prompt_template", "swing-default@7"),
        "unknown prompt template 'swing-default@7'",
        id="unknown-prompt-template-version",
    ),
    pytest.param(
        _set_strategy("prompt_template", "swing-default@latest"),
        "prompt template 'swing-default@latest': expected name or name@VERSION",
        id="bad-prompt-template-version",
    ),
    pytest.param(
        _set_strategy("prompt_template", "swing-default@²"),
        "expected name or name@VERSION",
        id="non-ascii-digit-version",
    ),
    pytest.param(
        _set_nested("risk", "capital", "100000.125"),
        "strategy goog-daily-swing: capital: Ensure that there are no more than 2 decimal places",
        id="capital-too-precise-for-the-model",
    ),
    pytest.param(
        _set_strategy("name", "x" * 200),
        "strategy goog-daily-swing: name: Ensure this value has at most 128 characters",
        id="name-too-long-for-the-model",
    ),
    pytest.param(
        _set_symbol("description", "x" * 300),
        "symbol GOOG STK USD: description: Ensure this value has at most 255 characters",
        id="symbol-description-too-long",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), INVALID)
def test_invalid_file_is_rejected_and_changes_nothing(
    tmp_path: Path, mutate: Mutation, message: str
) -> None:
    strategies_apply(path=DEMO_FILE)
    before = snapshot()
    document = demo()
    # Valid changes alongside the fault, which must not be saved either.
    document["prompt_templates"][0]["body"] += "\nNew line.\n"
    strategy_of(document, EUR_SLUG)["lookback"] = 250
    mutate(document)
    path = write(tmp_path, document)

    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=path)
    assert message in str(caught.value)
    assert snapshot() == before

    with pytest.raises(CommandError) as command_caught:
        apply_command(path)
    assert message in str(command_caught.value)
    assert snapshot() == before


def test_every_validation_problem_is_listed(tmp_path: Path) -> None:
    document = demo()
    goog = strategy_of(document, GOOG_SLUG)
    goog["schedule"] = {"cron": "every day", "timezone": "Nowhere"}
    goog["bar_size"] = "3 hours"
    goog["indicators"] = [{"name": "MAGIC"}]
    goog["colour"] = "blue"
    document["symbols"][1]["timezone"] = "Atlantis"
    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=write(tmp_path, document))
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("is not a valid strategies file:")
    assert lines[1:] == [
        "  symbols.1.timezone: Value error, unknown IANA timezone 'Atlantis'",
        "  strategies.0.bar_size: Value error, unknown bar size '3 hours'; expected one of "
        "1 min, 5 mins, 15 mins, 30 mins, 1 hour, 4 hours, 1 day, 1 week, 1 month",
        "  strategies.0.indicators: Value error, unknown TA-Lib function 'MAGIC'",
        "  strategies.0.schedule.cron: Value error, invalid cron expression 'every day'",
        "  strategies.0.schedule.timezone: Value error, unknown IANA timezone 'Nowhere'",
        "  strategies.0.colour: Extra inputs are not permitted",
    ]
    assert counts() == (0, 0, 0)


def test_every_reference_problem_is_listed_and_nothing_saved(tmp_path: Path) -> None:
    document = demo()
    strategy_of(document, GOOG_SLUG)["symbol"] = "MSFT"
    strategy_of(document, EUR_SLUG)["prompt_template"] = "missing"
    with pytest.raises(CommandError) as caught:
        apply_command(write(tmp_path, document))
    message = str(caught.value)
    assert "cannot be applied, nothing saved" in message
    assert "strategy goog-daily-swing: unknown symbol MSFT STK USD" in message
    assert "strategy eurusd-hourly-momentum: unknown prompt template 'missing'" in message
    # The symbols and the template declared in the same file were rolled back too.
    assert counts() == (0, 0, 0)


def test_missing_required_fields_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, {"strategies": [{"slug": "bare"}]})
    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=path)
    for field in ("name", "symbol", "bar_size", "prompt_template", "schedule"):
        assert f"strategies.0.{field}: Field required" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("strategies: [unclosed\n", id="unclosed-flow"),
        pytest.param("strategies:\n  - slug: a\n   name: b\n", id="bad-indentation"),
        pytest.param("schedule: {cron: * * * * *}\n", id="unquoted-star-cron"),
    ],
)
def test_bad_yaml_is_rejected(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StrategiesFileError, match="cannot read"):
        strategies_apply(path=path)
    with pytest.raises(CommandError, match="cannot read"):
        apply_command(path)


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- slug: a\n", encoding="utf-8")
    with pytest.raises(StrategiesFileError, match="valid dictionary"):
        strategies_apply(path=path)


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        apply_command(tmp_path / "absent.yaml")


def test_schedule_options_and_trading_calendar_are_applied(tmp_path: Path) -> None:
    document = demo()
    strategy_of(document, GOOG_SLUG)["schedule"].update(catch_up="none", skip_closed_market=True)
    next(s for s in document["symbols"] if s["symbol"] == "GOOG")["trading_calendar"] = "XNAS"
    strategies_apply(path=write(tmp_path, document))
    strategy = Strategy.objects.select_related("symbol").get(slug=GOOG_SLUG)
    assert (strategy.catch_up, strategy.skip_closed_market) == ("none", True)
    assert strategy.symbol.trading_calendar == "XNAS"


def test_an_unknown_trading_calendar_is_rejected(tmp_path: Path) -> None:
    document = demo()
    document["symbols"][0]["trading_calendar"] = "XMOON"
    with pytest.raises(StrategiesFileError, match="unknown exchange calendar 'XMOON'"):
        strategies_apply(path=write(tmp_path, document))


def test_a_changed_schedule_clears_the_next_slot_for_the_dispatcher(tmp_path: Path) -> None:
    strategies_apply(path=DEMO_FILE)
    Strategy.objects.update(next_run_at="2030-01-01T00:00:00Z")
    document = demo()
    strategy_of(document, GOOG_SLUG)["schedule"]["cron"] = "0 17 * * 1-5"
    strategy_of(document, EUR_SLUG)["risk"]["capital"] = "60000"
    strategies_apply(path=write(tmp_path, document))
    assert Strategy.objects.get(slug=GOOG_SLUG).next_run_at is None
    assert Strategy.objects.get(slug=EUR_SLUG).next_run_at is not None


def test_a_cron_that_never_fires_is_refused() -> None:
    from pydantic import ValidationError

    from apps.strategies.definitions import ScheduleDefinition

    with pytest.raises(ValidationError, match="never fires"):
        ScheduleDefinition(cron="0 0 31 2 *")
    assert ScheduleDefinition(cron="0 0 29 2 *").cron == "0 0 29 2 *"  # leap days do come


def test_a_cron_with_a_seconds_field_is_refused() -> None:
    """croniter reads a sixth field as seconds: every 10 s would pass as a schedule."""
    from pydantic import ValidationError

    from apps.strategies.definitions import ScheduleDefinition

    with pytest.raises(ValidationError, match="five fields"):
        ScheduleDefinition(cron="* * * * * */10")
    assert ScheduleDefinition(cron="@daily").cron == "@daily"


def test_account_names_a_trading_account_of_the_owner(tmp_path: Path) -> None:
    # given a trader with a second account of their own and another user's account
    trader = UserFactory.create(username="filetrader")
    book = AccountFactory.create(owner=trader, name="Swing book")
    AccountFactory.create(owner=UserFactory.create(username="stranger"), name="Their book")
    document = demo()
    strategy_of(document, GOOG_SLUG)["account"] = "Swing book"

    # when the file is applied for the trader, the strategy trades the named account; the
    # others (no account named) trade the trader's default paper account
    strategies_apply(path=write(tmp_path, document), owner=trader)
    assert Strategy.objects.get(slug=GOOG_SLUG).account == book
    assert Strategy.objects.get(slug=EUR_SLUG).account == account_default_for(owner=trader)

    # then naming another user's account is refused with the name, and nothing changes
    before = snapshot()
    strategy_of(document, GOOG_SLUG)["account"] = "Their book"
    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=write(tmp_path, document), owner=trader)
    assert "no trading account named 'Their book' among filetrader's accounts" in str(caught.value)
    assert snapshot() == before
