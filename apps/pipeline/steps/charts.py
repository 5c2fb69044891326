"""Step 3, charts: Plotly candlesticks with indicators, saved as JSON and PNG artifacts; a PNG
is rendered once per identical input and reused after that."""

from typing import Any

from apps.lineage.services import StepRecorder, artifact_content_for_input
from apps.marketdata.charts import (
    Chart,
    build_figure,
    figure_json,
    png_render_key,
    render_png,
)
from apps.pipeline.context import RunContext

NAME = "charts"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """How many bars and which indicator series the chart shows."""
    return {
        "bars": len(ctx.bars or []),
        "series": [key for r in ctx.indicators for key in r.outputs],
    }


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Build the chart and export its PNG, rendered once per identical input: when a stored
    ``chart_png`` was made from the same figure JSON and export settings (``png_render_key``),
    its bytes are reused instead of rendering again (output ``render``: ``reused`` or
    ``rendered``). Both artifacts are content-addressed, so equal charts share one file each.
    Raises ChartRenderError when a needed PNG export fails.

    An anonymised run (``Run.anonymise``) gets a chart without title and dates (x axis in bar
    offsets, ``build_figure(anonymise=True)``): another figure JSON, hence another render key,
    so it never reuses (or lends) the dated chart's PNG."""
    assert ctx.bars is not None
    strategy = ctx.strategy
    anonymise = ctx.run.anonymise
    title = f"{strategy.symbol.symbol} {strategy.bar_size} as of {ctx.run.as_of:%Y-%m-%d %H:%M}"
    figure = build_figure(title, ctx.bars, ctx.indicators, anonymise=anonymise)
    text = figure_json(figure)
    key = png_render_key(text)
    png = artifact_content_for_input(kind="chart_png", input_sha256=key)
    render = "reused"
    if png is None:
        png, render = render_png(figure), "rendered"
    chart = Chart(figure_json=text, png=png)
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
