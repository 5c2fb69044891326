"""docs/strategies-file.md matches apps/strategies/definitions.py, and its example applies."""

import re
import typing
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from apps.analysis.models import PromptTemplate
from apps.strategies.definitions import (
    LimitsDefinition,
    LlmDefinition,
    OrderDefinition,
    PositionsDefinition,
    PromptTemplateDefinition,
    RiskDefinition,
    ScheduleDefinition,
    StrategiesFile,
    StrategyDefinition,
    SymbolDefinition,
)
from apps.strategies.models import Strategy
from apps.strategies.services import strategies_apply
from apps.symbols.models import Symbol

DOC = Path(settings.BASE_DIR) / "docs" / "strategies-file.md"

SECTIONS: dict[str, type[BaseModel]] = {
    "## Top level": StrategiesFile,
    "## `symbols`": SymbolDefinition,
    "## `prompt_templates`": PromptTemplateDefinition,
    "## `strategies`": StrategyDefinition,
    "### `llm`": LlmDefinition,
    "### `schedule`": ScheduleDefinition,
    "### `risk`": RiskDefinition,
    "### `order`": OrderDefinition,
    "### `positions`": PositionsDefinition,
    "### `limits`": LimitsDefinition,
}

ROW = re.compile(r"^\| `(?P<field>[a-z_]+)` \| (?P<type>.*?) \| (?P<default>.*?) \| ")


def documented_rows() -> dict[str, dict[str, tuple[str, str]]]:
    """{section heading: {field: (type cell, default cell)}} from the doc's field tables."""
    rows: dict[str, dict[str, tuple[str, str]]] = {}
    heading = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.strip()
        elif (match := ROW.match(line)) and heading in SECTIONS:
            rows.setdefault(heading, {})[match["field"]] = (match["type"], match["default"])
    return rows


def expected_default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is list:
        return "`[]`"
    if field.default_factory is not None:
        return "all defaults"
    value = field.default
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return '`""`'
    return f"`{value}`"


@pytest.mark.parametrize(("heading", "model"), SECTIONS.items(), ids=list(SECTIONS))
def test_every_field_is_documented_with_its_default(heading: str, model: type[BaseModel]) -> None:
    rows = documented_rows()[heading]
    assert set(rows) == set(model.model_fields)
    for name, field in model.model_fields.items():
        assert rows[name][1] == expected_default(field), name


@pytest.mark.parametrize(("heading", "model"), SECTIONS.items(), ids=list(SECTIONS))
def test_documented_choices_match_the_literals(heading: str, model: type[BaseModel]) -> None:
    rows = documented_rows()[heading]
    for name, field in model.model_fields.items():
        if typing.get_origin(field.annotation) is typing.Literal:
            choices = re.findall(r"`([^`]+)`", rows[name][0])
            assert choices == list(typing.get_args(field.annotation)), name


def example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "the doc has no YAML example"
    text: str = blocks[-1]
    return text


def test_complete_example_uses_every_field() -> None:
    raw = yaml.safe_load(example())
    document = StrategiesFile.model_validate(raw)
    for symbol in document.symbols[:1]:
        assert symbol.model_fields_set == set(SymbolDefinition.model_fields)
    strategy = document.strategies[0]
    assert strategy.model_fields_set == set(StrategyDefinition.model_fields)
    for part in (
        strategy.llm,
        strategy.schedule,
        strategy.risk,
        strategy.order,
        strategy.positions,
        strategy.limits,
    ):
        assert part.model_fields_set == set(type(part).model_fields)
    indicator_fields = {key for spec in strategy.indicators for key in spec}
    assert indicator_fields == {"name", "params", "key"}


@pytest.mark.django_db
def test_complete_example_applies_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(example(), encoding="utf-8")
    report = strategies_apply(path=path)
    assert report.created == ["goog-daily-example", "eurusd-hourly-example"]
    assert (Strategy.objects.count(), Symbol.objects.count(), PromptTemplate.objects.count()) == (
        2,
        2,
        1,
    )
    eur = Strategy.objects.get(slug="eurusd-hourly-example")
    assert (eur.lookback, eur.analyst, eur.schedule_timezone) == (200, "baseline", "UTC")
    assert eur.risk_per_trade_pct == Decimal("0.5")
    goog = Strategy.objects.get(slug="goog-daily-example")
    assert (goog.daily_loss_limit, goog.max_drawdown_pct, goog.max_failed_runs) == (
        Decimal("2000"),
        Decimal("15"),
        3,
    )
    assert (goog.llm_budget_daily_usd, goog.llm_budget_monthly_usd) == (
        Decimal("2.50"),
        Decimal("40"),
    )
    assert strategies_apply(path=path).unchanged == report.created
