"""One PNG export per chart input even when runs ask for it at the same moment: the opening-bell
burst's strategies sharing a chart input, or a backtest's variants at one slot (issue 16)."""

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.marketdata.bar_checks import OhlcvRow
from apps.marketdata.charts import ChartRenderError
from apps.marketdata.series import BarSeries
from apps.pipeline.steps import charts as charts_step
from apps.pipeline.steps.charts import ChartMade, chart_make
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

# the threads read stored artifacts through their own connections
pytestmark = pytest.mark.django_db(transaction=True)

AS_OF = datetime(2012, 6, 1, 22, tzinfo=UTC)


def _bars(count: int = 60) -> BarSeries:
    start = AS_OF - timedelta(days=count)
    return BarSeries.from_rows(
        [
            OhlcvRow(
                start + timedelta(days=n),
                Decimal(100 + n),
                Decimal(102 + n),
                Decimal(99 + n),
                Decimal(101 + n),
                Decimal(1000),
            )
            for n in range(count)
        ]
    )


def test_concurrent_runs_with_one_chart_input_export_it_once(
    goog: Symbol, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a slow PNG export and five threads making the same chart at once
    exports: list[str] = []

    def slow_export(figure: dict[str, Any]) -> bytes:
        exports.append(figure["layout"]["title"]["text"])
        time.sleep(0.5)
        return b"\x89PNG one export"

    monkeypatch.setattr(charts_step, "render_png", slow_export)
    strategy = StrategyFactory.create(symbol=goog)
    bars = _bars()
    made: list[ChartMade] = []
    start = threading.Barrier(5)

    def make() -> None:
        try:
            start.wait()
            made.append(chart_make(strategy, AS_OF, bars, []))
        finally:
            connection.close()

    threads = [threading.Thread(target=make) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one export, one run says rendered and four reused, all with the same bytes
    assert len(exports) == 1
    assert sorted(m.render for m in made) == ["rendered"] + ["reused"] * 4
    assert {m.chart.png for m in made} == {b"\x89PNG one export"}
    assert len({m.render_key for m in made}) == 1
    assert charts_step._rendering == {}


def test_a_failed_export_is_not_handed_to_the_runs_waiting_for_it(
    goog: Symbol, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an export that fails once, while a second thread waits for it
    calls: list[int] = []

    def flaky_export(figure: dict[str, Any]) -> bytes:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.3)
            raise ChartRenderError("Chromium went away")
        return b"\x89PNG second try"

    monkeypatch.setattr(charts_step, "render_png", flaky_export)
    strategy = StrategyFactory.create(symbol=goog)
    bars = _bars()
    outcomes: list[object] = []
    start = threading.Barrier(2)

    def make(delay: float) -> None:
        try:
            start.wait()
            time.sleep(delay)
            outcomes.append(chart_make(strategy, AS_OF, bars, []).render)
        except ChartRenderError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(d,)) for d in (0.0, 0.1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the first run fails with its error, and the waiting one exports itself
    assert sorted(map(str, outcomes)) == ["Chromium went away", "rendered"]
    assert len(calls) == 2
