"""Charts of a run's bars and indicators with Plotly: interactive JSON and a PNG for the model.

Layout: candlesticks with overlay studies (TA-Lib group "Overlap Studies") on the price panel,
volume below, then one panel per other indicator (oscillators such as RSI, MACD, STOCH).
PNG export uses kaleido, which drives a headless Chromium; ``start_png_renderer`` keeps one
warm for the life of the process.
"""

import atexit
import threading
import warnings
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio
from django.conf import settings
from plotly.subplots import make_subplots

from apps.common.errors import SibylError
from apps.marketdata.indicators import IndicatorResult
from apps.marketdata.series import BarSeries

_renderer_lock = threading.Lock()
_renderer_started = False


class ChartRenderError(SibylError):
    """The PNG could not be rendered (no Chromium, or kaleido failed)."""


@dataclass(frozen=True)
class Chart:
    """A rendered chart: Plotly figure JSON (str) and PNG bytes."""

    figure_json: str
    png: bytes


def start_png_renderer() -> None:
    """Start kaleido's browser once per process so each PNG costs a render, not a launch."""
    global _renderer_started
    with _renderer_lock:
        if _renderer_started:
            return
        import kaleido

        kaleido.start_sync_server(silence_warnings=True)
        atexit.register(kaleido.stop_sync_server, silence_warnings=True)
        _renderer_started = True


def build_figure(title: str, bars: BarSeries, indicators: list[IndicatorResult]) -> go.Figure:
    """Return the Plotly figure for ``bars`` (N bars) and indicator outputs aligned with them."""
    panels = [result for result in indicators if not result.on_price_panel]
    rows = 2 + len(panels)
    heights = [0.55, 0.15] + [0.3 / max(len(panels), 1)] * len(panels)
    titles = [title, "Volume"] + [result.spec.key for result in panels]
    figure = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=heights,
        subplot_titles=titles,
    )
    x = bars.ts
    figure.add_trace(
        go.Candlestick(
            x=x, open=bars.open, high=bars.high, low=bars.low, close=bars.close, name="OHLC"
        ),
        row=1,
        col=1,
    )
    for result in indicators:
        if result.on_price_panel:
            for key, series in result.outputs.items():
                figure.add_trace(go.Scatter(x=x, y=series, name=key, mode="lines"), row=1, col=1)
    figure.add_trace(go.Bar(x=x, y=bars.volume, name="Volume", marker_color="#888"), row=2, col=1)
    for row, result in enumerate(panels, start=3):
        for key, series in result.outputs.items():
            figure.add_trace(go.Scatter(x=x, y=series, name=key, mode="lines"), row=row, col=1)
    figure.update_layout(
        xaxis_rangeslider_visible=False,
        template="plotly_white",
        margin={"l": 50, "r": 20, "t": 40, "b": 30},
        showlegend=True,
    )
    return figure


def render_chart(title: str, bars: BarSeries, indicators: list[IndicatorResult]) -> Chart:
    """Build the figure and export it as JSON and PNG (size from CHART_PNG_WIDTH/HEIGHT).

    Raises ChartRenderError when the PNG export fails (e.g. Chromium is missing).
    """
    figure = build_figure(title, bars, indicators)
    start_png_renderer()
    try:
        with warnings.catch_warnings():
            # plotly passes kaleido options that a running server ignores; nothing is lost.
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            png = pio.to_image(
                figure,
                format="png",
                width=settings.CHART_PNG_WIDTH,
                height=settings.CHART_PNG_HEIGHT,
                validate=False,
            )
    except Exception as error:  # kaleido raises several unrelated types
        raise ChartRenderError(f"PNG export failed: {type(error).__name__}: {error}") from error
    return Chart(figure_json=figure.to_json(), png=png)
