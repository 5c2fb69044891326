"""manage.py backtest: creates, runs (with a progress bar) and summarises; --resume."""

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.analysis.costs import llm_cost_estimate
from apps.evaluation.models import Backtest, BacktestStatus
from apps.lineage.models import Run
from apps.symbols.models import Symbol
from tests.factories import PromptTemplateFactory, StrategyFactory
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db


def test_the_command_runs_a_window_and_writes_the_report(goog: Symbol, tmp_path: Path) -> None:
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    PromptTemplateFactory.create(name=strategy.prompt_template.name, version=7)
    out = StringIO()

    call_command(
        "backtest",
        strategy.slug,
        "--start",
        "2012-03-05",
        "--end",
        "2012-03-09",
        "--variant",
        "label=base",
        "--variant",
        "prompt=v7,analyst=baseline",
        "--json",
        str(tmp_path / "r.json"),
        "--csv",
        str(tmp_path / "r.csv"),
        stdout=out,
    )

    backtest = Backtest.objects.get()
    assert backtest.status == BacktestStatus.DONE
    variants = list(backtest.variants.all())
    assert [v.label for v in variants] == ["base", "prompt=v7,analyst=baseline"]
    assert [v.slots_done for v in variants] == [5, 5]  # Monday to Friday at 22:00 UTC
    assert variants[1].clone.prompt_template.version == 7
    text = out.getvalue()
    assert "buy and hold" in text and "sharpe" in text
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["slots"] == 5 and len(report["variants"]) == 2
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["label"] for r in rows] == ["base", "prompt=v7,analyst=baseline", "buy and hold"]

    # resuming a finished backtest runs nothing more
    call_command("backtest", "--resume", str(backtest.pk), stdout=StringIO())
    assert backtest.variants.get(position=1).clone.runs.count() == 5


def test_a_bad_variant_is_refused(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    with pytest.raises(CommandError, match="no version 9"):
        call_command(
            "backtest",
            strategy.slug,
            "--start",
            "2012-03-05",
            "--end",
            "2012-03-09",
            "--variant",
            "prompt=9",
            stdout=StringIO(),
        )
    assert not Backtest.objects.exists()


def test_the_estimate_is_printed_and_max_cost_refuses_unless_yes(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    # given an openai strategy (gpt-4o-mini, no call yet) and a baseline variant beside it
    strategy = StrategyFactory.create(
        symbol=goog,
        analyst="openai",
        llm_max_tokens=500,
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )
    expected = llm_cost_estimate(strategy=strategy, slots=5)  # the baseline variant costs 0
    assert expected > 0
    window = ("--start", "2012-03-05", "--end", "2012-03-09")
    variants = ("--variant", "label=model", "--variant", "analyst=baseline")
    # when the estimate is above --max-cost: refused, nothing created
    out = StringIO()
    with pytest.raises(CommandError, match="above --max-cost"):
        call_command(
            "backtest", strategy.slug, *window, *variants, "--max-cost", "0.000001", stdout=out
        )
    assert f"estimated LLM cost: {expected:.6f} USD" in out.getvalue()
    assert not Backtest.objects.exists()
    # when --yes is given, in `only` cache mode: every run in that mode, no HTTP request
    out = StringIO()
    call_command(
        "backtest",
        strategy.slug,
        *window,
        *variants,
        *("--max-cost", "0.000001", "--yes", "--llm-cache", "only"),
        stdout=out,
    )
    backtest = Backtest.objects.get()
    assert backtest.status == BacktestStatus.DONE and backtest.llm_cache == "only"
    runs = Run.objects.filter(strategy__backtest_of=strategy)
    assert runs.count() == 10
    assert set(runs.values_list("llm_cache", flat=True)) == {"only"}
    model_runs = runs.filter(strategy__analyst="openai")
    assert set(model_runs.values_list("status", flat=True)) == {"failed"}  # cache misses
    assert all("LlmCacheMissError" in m for m in model_runs.values_list("error_message", flat=True))
    assert llm_server.requests == []
    assert "starting anyway (--yes)" in out.getvalue()
