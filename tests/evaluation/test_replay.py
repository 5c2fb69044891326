"""Replays: stored runs re-executed from the llm step, the original as the first variant."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from apps.evaluation.models import Backtest, BacktestKind, BacktestStatus, BacktestVariant
from apps.evaluation.replay import ReplaySpec, _replay_run_create, replay_create, replay_sources
from apps.evaluation.report import backtest_report
from apps.evaluation.services import (
    BacktestError,
    VariantSpec,
    backtest_cancel,
    backtest_create,
    backtest_run,
)
from apps.lineage.models import Artifact, Run, RunStatus, Step
from apps.marketdata.indicators import compute_indicators, parse_indicator_specs
from apps.marketdata.models import Bar
from apps.marketdata.providers import provider_for
from apps.pipeline.executor import strategy_run
from apps.pipeline.reuse import (
    NotReplayableError,
    bars_from_chart,
    indicators_from_chart,
    source_inputs,
)
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory
from tests.factories import decision_answer as decision
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db

# GOOG daily bars: the last closes before these slots are 2012-05-24 … 2012-05-31 (580.86)
SLOTS = [datetime(2012, 5, day, 22, tzinfo=UTC) for day in (24, 25, 29, 30, 31)]
START, END = datetime(2012, 5, 24, tzinfo=UTC), datetime(2012, 6, 8, 23, 59, tzinfo=UTC)
REUSED = ["data", "indicators", "charts"]


def _live_runs(goog: Symbol, llm_server: ScriptedLlmServer) -> tuple[Strategy, list[Run]]:
    """An OpenAI-analyst strategy's scheduled runs at ``SLOTS``: a BUY at the last close each
    time, except the third slot, run with a misconfigured indicator (fails before its chart).
    Returns the strategy and its runs in slot order."""
    strategy = StrategyFactory.create(
        symbol=goog,
        analyst="openai",
        llm_model="model-a",
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
        max_entry_deviation_pct=50,
    )
    runs = []
    for n, slot in enumerate(SLOTS):
        close = float(
            Bar.objects.filter(symbol=goog, bar_size="1 day", ts__lte=slot).latest("ts").close
        )
        llm_server.answer_with(
            decision(
                entry=close, stop_loss=close - 10, take_profit=close + 20, confidence=0.7 + n / 100
            )
        )
        if n == 2:
            Strategy.objects.filter(pk=strategy.pk).update(indicators=[{"name": "NOPE"}])
        runs.append(strategy_run(strategy=strategy, as_of=slot, trigger="schedule"))
        if n == 2:
            Strategy.objects.filter(pk=strategy.pk).update(indicators=strategy.indicators)
    return strategy, runs


def _forbid_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any bar read or chart render of a run fail loudly."""

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a replay read bars or rendered a chart")

    monkeypatch.setattr("apps.pipeline.steps.data.provider_for", forbidden)
    monkeypatch.setattr("apps.pipeline.steps.charts.render_png", forbidden)
    monkeypatch.setattr("apps.pipeline.steps.charts.build_figure", forbidden)


def _decision(run: Run) -> tuple[Any, ...]:
    """The model's decision behind ``run``'s signal (whether it was accepted depends on the
    account it is judged against)."""
    s = Signal.objects.get(run=run)
    return (s.action, s.confidence, s.entry, s.stop_loss, s.take_profit)


def _prompt_sha(run: Run) -> str:
    sha: str = Artifact.objects.get(step__run=run, kind="prompt").sha256
    return sha


def _chart_files() -> set[str]:
    return set(
        Artifact.objects.filter(kind__in=["chart_png", "chart_json"]).values_list("file", flat=True)
    )


def test_a_replay_reuses_the_stored_inputs_and_scores_the_original_beside_a_model(
    goog: Symbol, llm_server: ScriptedLlmServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a strategy's five stored live runs, one of which failed before its chart
    strategy, sources = _live_runs(goog, llm_server)
    assert [r.status for r in sources] == ["succeeded"] * 2 + ["failed"] + ["succeeded"] * 2
    assert len(llm_server.requests) == 4
    charts_before = _chart_files()
    # when they are replayed with another model that answers HOLD, computing nothing
    _forbid_computing(monkeypatch)
    llm_server.requests.clear()
    llm_server.answer_with(decision(action="HOLD", entry=None, stop_loss=None, take_profit=None))
    replay = replay_create(
        strategy=strategy,
        start=START,
        end=END,
        variants=[ReplaySpec(label="model-b", llm_model="model-b")],
    )
    assert list(replay_sources(replay)) == sources
    replay = backtest_run(replay)

    # then it is done, each variant with one replay run per source run
    assert replay.status == BacktestStatus.DONE and replay.kind == BacktestKind.REPLAY
    original, other = list(replay.variants.order_by("position"))
    assert (original.label, original.recorded_answers) == ("original", True)
    for variant in (original, other):
        assert variant.slots_done == variant.slots_total == 5
        runs = list(Run.objects.filter(strategy=variant.clone).order_by("as_of"))
        assert [r.replay_of_id for r in runs] == [s.pk for s in sources]
        assert {r.trigger for r in runs} == {"replay"}
        assert [r.as_of for r in runs] == SLOTS
        # the source without a chart is skipped, saying why
        skipped = runs[2]
        assert skipped.status == RunStatus.SKIPPED
        assert "no succeeded charts step" in skipped.error_message
        assert "indicators failed" in skipped.error_message and "NOPE" in skipped.error_message
        assert not skipped.steps.exists()
        for run, source in zip(runs, sources, strict=True):
            if run is skipped:
                continue
            assert run.status == RunStatus.SUCCEEDED, run.error_message
            steps = list(run.steps.order_by("sequence"))
            assert [s.name for s in steps][:4] == [*REUSED, "llm"]
            for step in steps[:3]:
                stored = Step.objects.get(run=source, name=step.name)
                assert step.output["reused_from_run"] == source.pk
                assert step.input == stored.input
            assert steps[2].output["render"] == "reused"
            # the chart artifacts are the source's files, linked, not copied
            linked = dict(steps[2].artifacts.values_list("kind", "sha256"))
            stored_charts = Step.objects.get(run=source, name="charts").artifacts
            assert linked == dict(stored_charts.values_list("kind", "sha256"))
    assert _chart_files() == charts_before  # no new chart file
    # the restored bars and indicators render the very prompt the source rendered (the first
    # slot: no position yet in either account)
    for variant in (original, other):
        first = Run.objects.get(strategy=variant.clone, replay_of=sources[0])
        assert _prompt_sha(first) == _prompt_sha(sources[0])

    # the original made no request and reproduced every decision
    assert len(llm_server.requests) == 4
    assert {r["model"] for r in llm_server.requests} == {"model-b"}
    live = [s for s in sources if s.status == RunStatus.SUCCEEDED]
    replayed = [Run.objects.get(strategy=original.clone, replay_of=s) for s in live]
    assert [_decision(r) for r in replayed] == [_decision(s) for s in live]
    assert {c.cache for r in replayed for c in r.llm_calls.all()} == {"hit"}
    assert {c.attempts for r in replayed for c in r.llm_calls.all()} == {0}
    # the other variant got its own answers: HOLD every time
    other_runs = Run.objects.filter(strategy=other.clone, status=RunStatus.SUCCEEDED)
    assert {Signal.objects.get(run=r).action for r in other_runs} == {"HOLD"}

    # and both are scored the same way: the original traded, the HOLD variant did not
    report = backtest_report(replay)
    rows = {row["label"]: row for row in report["variants"]}
    assert rows["original"]["trade_list"], rows["original"]
    assert rows["original"]["llm_calls"] == 4 and rows["model-b"]["llm_calls"] == 4
    assert rows["model-b"]["trades"] == 0 and not rows["model-b"]["trade_list"]
    assert rows["original"]["final_equity"] != rows["model-b"]["final_equity"]
    # the owner's account was not touched by the replay
    assert not Run.objects.filter(strategy=strategy, trigger="replay").exists()


def test_a_backtest_is_replayed_with_its_variant_as_the_original(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    # given a baseline backtest of one week
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    source = backtest_run(
        backtest_create(
            strategy=strategy,
            start=datetime(2012, 3, 5, tzinfo=UTC),
            end=datetime(2012, 3, 9, 23, tzinfo=UTC),
            variants=[VariantSpec(label="base")],
        )
    )
    assert source.status == BacktestStatus.DONE
    source_variant = source.variants.get(reference=False)
    source_runs = list(Run.objects.filter(strategy=source_variant.clone).order_by("as_of"))
    assert len(source_runs) == 5
    # when its runs are replayed beside an OpenAI-analyst variant
    llm_server.answer_with(decision(action="HOLD", entry=None, stop_loss=None, take_profit=None))
    replay = backtest_run(
        replay_create(
            source_variant=source_variant,
            variants=[ReplaySpec(label="llm", analyst="openai", llm_model="model-c")],
        )
    )
    # then the replay covers the backtest's window and runs, the original as the backtest ran
    assert replay.status == BacktestStatus.DONE
    assert (replay.start, replay.end, replay.strategy_id) == (source.start, source.end, strategy.pk)
    original = replay.variants.get(position=1)
    runs = list(Run.objects.filter(strategy=original.clone).order_by("as_of"))
    assert [r.replay_of_id for r in runs] == [r.pk for r in source_runs]
    assert [_decision(r) for r in runs] == [_decision(r) for r in source_runs]
    # the model variant asked the model once per source run, nothing more
    assert len(llm_server.requests) == 5
    assert {r["model"] for r in llm_server.requests} == {"model-c"}
    # and a resumed replay runs nothing again
    assert backtest_run(Backtest.objects.get(pk=replay.pk)).status == BacktestStatus.DONE
    assert Run.objects.filter(replay_of__in=source_runs).count() == 10
    assert BacktestVariant.objects.filter(backtest=replay, slots_done=5).count() == 2


def test_the_bars_and_indicators_read_back_from_a_chart_are_those_it_was_drawn_from(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    strategy, sources = _live_runs(goog, llm_server)
    source = sources[-1]
    bars = provider_for().get_bars(
        symbol=goog, bar_size="1 day", as_of=source.as_of, count=strategy.lookback, min_count=50
    )
    inputs = source_inputs(source.pk)
    last_close = Decimal(inputs.steps["data"].output["last_close"])

    restored = bars_from_chart(inputs.figure_json, last_close)

    assert restored.ts == bars.ts and restored.last_close == bars.last_close
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(restored, name), getattr(bars, name)), name
    computed = compute_indicators(parse_indicator_specs(strategy.indicators), bars)
    step = inputs.steps["indicators"]
    indicators = indicators_from_chart(
        inputs.figure_json, step.input["indicators"], step.output["groups"]
    )
    assert [(r.spec, r.group, list(r.outputs)) for r in indicators] == [
        (r.spec, r.group, list(r.outputs)) for r in computed
    ]
    for got, want in zip(indicators, computed, strict=True):
        for key, values in want.outputs.items():
            assert np.array_equal(got.outputs[key], values, equal_nan=True), key
    with pytest.raises(NotReplayableError, match="no succeeded charts step"):
        source_inputs(sources[2].pk)


def _baseline_backtest(goog: Symbol) -> BacktestVariant:
    """A finished one-week baseline backtest's only variant (five runs)."""
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    source = backtest_run(
        backtest_create(
            strategy=strategy,
            start=datetime(2012, 3, 5, tzinfo=UTC),
            end=datetime(2012, 3, 9, 23, tzinfo=UTC),
        )
    )
    assert source.status == BacktestStatus.DONE
    return source.variants.get(reference=False)


def test_a_stopped_replay_resumes_without_a_source_run_twice_and_a_cancelled_one_stops(
    goog: Symbol,
) -> None:
    source_variant = _baseline_backtest(goog)
    sources = list(Run.objects.filter(strategy=source_variant.clone).order_by("as_of"))
    spec = [ReplaySpec(label="again", analyst="baseline")]
    # given a replay whose worker stopped after 3 runs, then died right after creating the
    # original's replay of the 4th source run, before executing it
    replay = replay_create(source_variant=source_variant, variants=spec)
    assert backtest_run(replay, max_slots=3).status == BacktestStatus.RUNNING
    original, again = list(replay.variants.order_by("position"))
    assert Run.objects.filter(strategy=original.clone).count() == 3
    _replay_run_create(original, sources[3], replay.llm_cache)

    # when it is resumed
    resumed = backtest_run(replay)

    # then every source run has exactly one succeeded replay run per variant
    assert resumed.status == BacktestStatus.DONE
    for variant in (original, again):
        runs = Run.objects.filter(strategy=variant.clone)
        assert sorted(runs.values_list("replay_of_id", flat=True)) == sorted(s.pk for s in sources)
        assert set(runs.values_list("status", flat=True)) == {RunStatus.SUCCEEDED}
    assert [_decision(Run.objects.get(strategy=original.clone, replay_of=s)) for s in sources] == [
        _decision(s) for s in sources
    ]

    # and a replay cancelled after two source runs stops there and stays stopped
    cancelled = replay_create(source_variant=source_variant)

    def cancel_after_two(variant: Any, done: int, total: int) -> None:
        if done == 2:
            backtest_cancel(backtest=cancelled)

    assert backtest_run(cancelled, progress=cancel_after_two).status == BacktestStatus.CANCELLED
    only = cancelled.variants.get(reference=False)
    only.refresh_from_db()
    assert (only.status, only.slots_done, only.clone.runs.count()) == ("cancelled", 2, 2)
    assert backtest_run(cancelled).status == BacktestStatus.CANCELLED


def test_recorded_answers_are_for_replays_only(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    with pytest.raises(BacktestError, match="llm_cache must be one of"):
        backtest_create(strategy=strategy, start=START, end=END, llm_cache="recorded")
    with pytest.raises(BacktestError, match="llm_cache must be one of"):
        replay_create(strategy=strategy, start=START, end=END, llm_cache="recorded")
    # a run that claims recorded answers without a source run fails at its llm step, saying so
    run = strategy_run(strategy=strategy, as_of=SLOTS[0], trigger="replay", llm_cache="recorded")
    assert run.status == RunStatus.FAILED
    assert "RecordedAnswerMissingError" in run.error_message
    assert "replays no stored run" in run.error_message
