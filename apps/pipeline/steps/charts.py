"""Step 3, charts: Plotly candlesticks with indicators, saved as JSON and PNG artifacts."""

from typing import Any

from apps.lineage.services import StepRecorder
from apps.marketdata.charts import render_chart
from apps.pipeline.context import RunContext

NAME = "charts"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """How many bars and which indicator series the chart shows."""
    return {
        "bars": len(ctx.bars or []),
        "series": [key for r in ctx.indicators for key in r.outputs],
    }


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Render the chart; raises ChartRenderError when the PNG export fails."""
    assert ctx.bars is not None
    strategy = ctx.strategy
    title = f"{strategy.symbol.symbol} {strategy.bar_size} as of {ctx.run.as_of:%Y-%m-%d %H:%M}"
    chart = render_chart(title, ctx.bars, ctx.indicators)
    ctx.chart = chart
    recorder.add_artifact(
        kind="chart_png", filename="chart.png", content=chart.png, content_type="image/png"
    )
    recorder.add_artifact(
        kind="chart_json",
        filename="chart.json",
        content=chart.figure_json.encode(),
        content_type="application/json",
    )
    recorder.output = {"png_bytes": len(chart.png), "json_bytes": len(chart.figure_json)}
