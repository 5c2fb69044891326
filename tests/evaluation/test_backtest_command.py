"""manage.py backtest: creates, runs (with a progress bar) and summarises; --resume."""

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.evaluation.models import Backtest, BacktestStatus
from apps.symbols.models import Symbol
from tests.factories import PromptTemplateFactory, StrategyFactory

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
