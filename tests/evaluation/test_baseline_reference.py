"""The baseline analyst reference row: a backtest none of whose variants uses the rule-based
baseline analyst runs it beside them, and the report shows it as a reference (not a compared
variant); with a baseline variant, that variant is the row and nothing more runs."""

import csv
import io
from datetime import UTC, datetime

import pytest

from apps.evaluation.report import backtest_report, report_csv
from apps.evaluation.services import VariantSpec, backtest_create, backtest_run
from apps.evaluation.trades import report_series
from apps.lineage.models import Run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 4, 5, 23, 59, tzinfo=UTC)
FIGURES = ("trades", "realized_pnl", "final_equity", "max_drawdown", "sharpe", "exposure")


@pytest.fixture
def strategy(goog: Symbol) -> Strategy:
    """An LLM strategy on GOOG, weekdays at 22:00 UTC."""
    return StrategyFactory.create(
        symbol=goog,
        analyst="openai",
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )


def test_a_model_only_backtest_gets_the_baseline_analyst_as_its_reference_row(
    strategy: Strategy, llm_server: ScriptedLlmServer
) -> None:
    # given a backtest of the LLM strategy alone (cache `only`: its runs fail, no request)
    backtest = backtest_run(
        backtest_create(strategy=strategy, start=START, end=END, llm_cache="only")
    )
    # and one of the same window with a baseline variant beside the model
    compared = backtest_run(
        backtest_create(
            strategy=strategy,
            start=START,
            end=END,
            variants=[VariantSpec(label="model"), VariantSpec(label="rule", analyst="baseline")],
            llm_cache="only",
        )
    )

    # then the first ran one more variant, the baseline analyst, marked as the reference
    variants = list(backtest.variants.order_by("position"))
    assert [(v.label, v.analyst, v.reference) for v in variants] == [
        ("strategy", "", False),
        ("baseline analyst", "baseline", True),
    ]
    assert Run.objects.filter(strategy=variants[1].clone, status="succeeded").count() == (
        variants[1].slots_total
    )
    assert llm_server.requests == []
    report = backtest_report(backtest)
    assert [row["label"] for row in report["variants"]] == ["strategy"]  # not compared
    reference = report["baseline_analyst"]
    assert reference["reference"] is True and reference["analyst"] == "baseline"
    assert reference["trades"] > 0  # the rule traded over March 2012
    # the same figures as the baseline analyst traded as a compared variant
    rule = backtest_report(compared)["baseline_analyst"]
    assert rule["reference"] is False and rule["label"] == "rule"
    assert {k: reference[k] for k in FIGURES} == {k: rule[k] for k in FIGURES}
    # the second backtest added nothing: its own baseline variant is the row
    assert [v.reference for v in compared.variants.all()] == [False, False]

    # the summary lists the reference once, between the variants and buy-and-hold
    out = io.StringIO()
    report_csv(report, out)
    labels = [row["label"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert labels == ["strategy", "baseline analyst", "buy and hold"]
    out = io.StringIO()
    report_csv(backtest_report(compared), out)
    labels = [row["label"] for row in csv.DictReader(io.StringIO(out.getvalue()))]
    assert labels == ["model", "rule", "buy and hold"]
    series = [row["label"] for row in report_series(report)["series"]]
    assert series == ["strategy", "baseline analyst", "buy and hold"]


def test_a_baseline_strategy_adds_no_reference_and_can_opt_out(goog: Symbol) -> None:
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    backtest = backtest_create(strategy=strategy, start=START, end=END)
    assert [v.reference for v in backtest.variants.all()] == [False]
    llm = StrategyFactory.create(symbol=goog, analyst="openai", is_active=False)
    plain = backtest_create(strategy=llm, start=START, end=END, baseline_reference=False)
    assert [v.reference for v in plain.variants.all()] == [False]
    assert backtest_report(plain)["baseline_analyst"] is None
