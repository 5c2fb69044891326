"""A backtest's bars, indicators and charts computed ahead of its walk (issue 16: they do not
depend on positions): each distinct chart rendered once, the runs referencing it, and the same
trades, P&L and lineage as without the prefetch."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.evaluation.report import backtest_report
from apps.evaluation.services import VariantSpec, backtest_create, backtest_run, backtest_slots
from apps.lineage.models import Artifact, Step
from apps.pipeline import prefetch
from apps.pipeline.steps import charts as charts_step
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

# committed data: the prefetch threads read through their own connections
pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 3, 9, 23, 59, tzinfo=UTC)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """Counts real PNG exports and the prefetch's slot computations (from any thread)."""
    calls: dict[str, list[Any]] = {"renders": [], "prefetched": []}
    render, compute = charts_step.render_png, prefetch._compute

    def counting_render(figure: dict[str, Any]) -> bytes:
        calls["renders"].append(figure["layout"]["title"]["text"])
        return render(figure)

    def counting_compute(strategy: Strategy, as_of: datetime) -> prefetch.SlotInputs:
        calls["prefetched"].append(as_of)
        return compute(strategy, as_of)

    monkeypatch.setattr(charts_step, "render_png", counting_render)
    monkeypatch.setattr(prefetch, "_compute", counting_compute)
    return calls


def _strategy(goog: Symbol) -> Strategy:
    return StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )


def _lineage(strategy: Strategy) -> dict[datetime, dict[str, Any]]:
    """Per slot: the data and indicators steps' outputs and the chart files of the run."""
    lineage: dict[datetime, dict[str, Any]] = {}
    steps = Step.objects.filter(run__strategy__backtest_of=strategy).select_related("run")
    for step in steps.filter(name__in=("data", "indicators", "charts")):
        slot = lineage.setdefault(step.run.as_of, {})
        if step.name == "charts":
            slot["charts"] = sorted(step.artifacts.values_list("kind", "file"))
            slot["render_key"] = step.output["render_key"]
        else:
            slot[step.name] = (step.input, step.output)
    return lineage


def _figures(strategy: Strategy) -> dict[str, Any]:
    variant = backtest_report(backtest_create_and_run(strategy))["variants"][0]
    keep = ("trades", "wins", "realized_pnl", "final_equity", "max_drawdown", "exposure")
    trades = [{k: v for k, v in t.items() if k != "opening_run_id"} for t in variant["trade_list"]]
    return {k: variant[k] for k in keep} | {"trade_list": trades, "equity": variant["equity"]}


def backtest_create_and_run(strategy: Strategy) -> Any:
    return backtest_run(backtest_create(strategy=strategy, start=START, end=END))


def test_prefetch_renders_each_distinct_chart_once_and_the_runs_reference_it(
    goog: Symbol, counted: dict[str, list[Any]]
) -> None:
    # given a strategy backtested with two variants, the prefetch on (committed data)
    strategy = _strategy(goog)
    slots = backtest_slots(strategy, START, END)
    backtest = backtest_run(
        backtest_create(
            strategy=strategy,
            start=START,
            end=END,
            variants=[VariantSpec(label="a"), VariantSpec(label="b", llm_model="gpt-x")],
        )
    )
    # then every slot's inputs were computed ahead, and each distinct chart rendered once
    assert backtest.status == "done"
    assert sorted(set(counted["prefetched"])) == slots
    assert len(counted["renders"]) == len(set(counted["renders"])) == len(slots)
    # and the runs of both variants reference the one stored PNG of their slot
    pngs = Artifact.objects.filter(step__run__strategy__backtest_of=strategy, kind="chart_png")
    assert pngs.count() == 2 * len(slots)
    assert pngs.values("file").distinct().count() == len(slots)
    outputs = list(
        Step.objects.filter(run__strategy__backtest_of=strategy, name="charts").values_list(
            "output__render", flat=True
        )
    )
    assert sorted(outputs) == ["rendered"] * len(slots) + ["reused"] * len(slots)
    # and nothing stays held once the walk ended
    assert prefetch.prefetch_stats() == {"entries": 0}


def test_results_are_identical_with_and_without_prefetch(
    goog: Symbol, settings: Any, counted: dict[str, list[Any]]
) -> None:
    # given the same backtest run with the prefetch off, then on
    settings.BACKTEST_PREFETCH_WORKERS = 0
    without = _strategy(goog)
    figures_without = _figures(without)
    assert counted["prefetched"] == []
    settings.BACKTEST_PREFETCH_WORKERS = 2
    with_prefetch = _strategy(goog)
    figures_with = _figures(with_prefetch)
    # then the prefetch ran, and trades, P&L, equity and every slot's bars, indicators and
    # chart files are the same
    assert len(counted["prefetched"]) == len(backtest_slots(with_prefetch, START, END))
    assert figures_with == figures_without
    assert figures_without["trades"] >= 0
    assert _lineage(with_prefetch) == _lineage(without)


def test_a_walk_inside_a_transaction_computes_its_own_inputs(
    goog: Symbol, counted: dict[str, list[Any]]
) -> None:
    # given a backtest run inside an open transaction (its rows invisible to other connections)
    from django.db import transaction

    strategy = _strategy(goog)
    with transaction.atomic():
        backtest = backtest_create_and_run(strategy)
    # then nothing was prefetched, and the backtest ran all the same
    assert backtest.status == "done"
    assert counted["prefetched"] == []
    assert len(_lineage(strategy)) == len(backtest_slots(strategy, START, END))
