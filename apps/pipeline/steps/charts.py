"""Step 3, charts: Plotly candlesticks with indicators, saved as JSON and PNG artifacts; a PNG
is rendered once per identical input and reused after that."""

import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.common.deadlines import time_left
from apps.lineage.services import StepRecorder, artifact_content_for_input
from apps.marketdata.charts import (
    Chart,
    build_figure,
    figure_json,
    png_render_key,
    render_png,
)
from apps.marketdata.indicators import IndicatorResult
from apps.marketdata.series import BarSeries
from apps.pipeline.context import RunContext
from apps.strategies.models import Strategy

NAME = "charts"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """How many bars and which indicator series the chart shows."""
    return {
        "bars": len(ctx.bars or []),
        "series": [key for r in ctx.indicators for key in r.outputs],
    }


@dataclass(frozen=True)
class ChartMade:
    """A slot's chart (figure JSON and PNG), its ``render_key`` (``png_render_key``) and
    whether the PNG was ``rendered`` or ``reused`` from a stored artifact of the same key."""

    chart: Chart
    render_key: str
    render: str


def chart_make(
    strategy: Strategy,
    as_of: datetime,
    bars: BarSeries,
    indicators: list[IndicatorResult],
    *,
    anonymise: bool = False,
) -> ChartMade:
    """Build ``strategy``'s chart of ``bars`` and ``indicators`` as of ``as_of`` (tz-aware
    UTC) and its PNG, rendered once per identical input: when a stored ``chart_png`` was made
    from the same figure JSON and export settings (``png_render_key``), or another thread of
    the process is exporting that very input (``_render_once``), its bytes are reused.
    ``anonymise``: without title and dates (x axis in bar offsets, ``build_figure``): another
    figure JSON, hence another render key, so it never reuses (or lends) the dated chart's PNG.
    Raises ChartRenderError when a needed PNG export fails."""
    title = f"{strategy.symbol.symbol} {strategy.bar_size} as of {as_of:%Y-%m-%d %H:%M}"
    figure = build_figure(title, bars, indicators, anonymise=anonymise)
    text = figure_json(figure)
    key = png_render_key(text)
    png = artifact_content_for_input(kind="chart_png", input_sha256=key)
    render = "reused"
    if png is None:
        png, render = _render_once(key, figure)
    return ChartMade(chart=Chart(figure_json=text, png=png), render_key=key, render=render)


_rendering: dict[str, Future[bytes]] = {}
_rendering_lock = threading.Lock()
WAIT_S = 120.0  # at most this long (and never past the run's budget) for another's export


def _render_once(key: str, figure: dict[str, Any]) -> tuple[bytes, str]:
    """The PNG of ``figure`` (render key ``key``) and ``rendered``, or, when another thread of
    this process is exporting the same key (runs of one burst, or variants of one backtest,
    with the same chart input at once), that export's bytes and ``reused``. Raises
    ChartRenderError when this thread's export fails; another's failure makes it export
    itself."""
    with _rendering_lock:
        pending = _rendering.get(key)
        if pending is None:
            mine: Future[bytes] = Future()
            _rendering[key] = mine
    if pending is not None:
        try:
            return pending.result(time_left(WAIT_S, "another thread's chart PNG export")), "reused"
        except Exception:  # that export failed or is late: export here
            return render_png(figure), "rendered"
    try:
        png = render_png(figure)
    except BaseException as error:
        mine.set_exception(error)
        raise
    else:
        mine.set_result(png)
        return png, "rendered"
    finally:
        with _rendering_lock:
            del _rendering[key]


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Build the chart and export its PNG (``chart_make``: output ``render``, ``reused`` or
    ``rendered``), or take the chart a backtest prefetched for the slot, made by the same
    function (``apps.pipeline.prefetch``; ``rendered`` for the first run that takes a PNG
    rendered for it). Both artifacts are content-addressed, so equal charts share one file
    each. Raises ChartRenderError when a needed PNG export fails.

    An anonymised run (``Run.anonymise``) never takes a prefetched (dated) chart: it makes its
    own, without title and dates (``chart_make(anonymise=True)``)."""
    assert ctx.bars is not None
    anonymise = ctx.run.anonymise
    if ctx.prefetched is not None and not anonymise:
        key, chart = ctx.prefetched.render_key, ctx.prefetched.chart
        render = ctx.prefetched.render_claim()
    else:
        made = chart_make(
            ctx.strategy, ctx.run.as_of, ctx.bars, ctx.indicators, anonymise=anonymise
        )
        key, chart, render = made.render_key, made.chart, made.render
    ctx.chart = chart
    stored = recorder.add_artifact(
        kind="chart_png",
        filename="chart.png",
        content=chart.png,
        content_type="image/png",
        input_sha256=key,
    )
    recorder.add_artifact(
        kind="chart_json",
        filename="chart.json",
        content=chart.figure_json.encode(),
        content_type="application/json",
    )
    recorder.output = {
        "png_bytes": len(chart.png),
        "json_bytes": len(chart.figure_json),
        "render": render,
        "render_key": key,
        "png_sha256": stored.sha256,
        "anonymised": anonymise,
    }
