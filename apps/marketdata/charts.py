"""Charts of a run's bars and indicators with Plotly: interactive JSON and a PNG for the model.

Layout: candlesticks with overlay studies (TA-Lib group "Overlap Studies") on the price panel,
volume below, then one panel per other indicator (oscillators such as RSI, MACD, STOCH).
PNG export uses kaleido, which drives a headless Chromium; ``png_renderer`` keeps one warm for
the life of the process.
"""

import asyncio
import atexit
import concurrent.futures
import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import plotly
import plotly.io as pio
from django.conf import settings
from kaleido import Kaleido

from apps.common.deadlines import time_left
from apps.common.errors import SibylError
from apps.marketdata.indicators import IndicatorResult
from apps.marketdata.series import BarSeries, FloatArray

# plotly_white, resolved once: the figure stays a plain dict that kaleido and browsers accept.
CHART_TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
# The x axis of an anonymised chart: bar offsets, 0 the last (as-of) bar.
ANONYMOUS_X_TITLE = "bars before the last (0 = last)"


class ChartRenderError(SibylError):
    """The PNG could not be rendered (no Chromium, or kaleido failed)."""


@dataclass(frozen=True)
class Chart:
    """A rendered chart: Plotly figure JSON (str) and PNG bytes."""

    figure_json: str
    png: bytes


class _ReusingKaleido(Kaleido):
    """kaleido reloads a tab (re-parsing plotly.js) after every render, which costs more than
    the render itself. Each PNG is drawn on a fresh plot either way (same bytes with or without
    the reload, checked), so a tab is reloaded only every ``RELOAD_EVERY`` renders, to bound the
    page's memory, and that reload runs in the background while the other tab renders."""

    RELOAD_EVERY = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._renders: dict[int, int] = {}
        self._reloads: set[asyncio.Future[None]] = set()

    async def _return_kaleido_tab(self, tab: Any) -> None:
        count = self._renders.get(id(tab), 0) + 1
        self._renders[id(tab)] = count
        if count % self.RELOAD_EVERY:
            await self.tabs_ready.put(tab)
            return
        task = asyncio.ensure_future(self._reload_and_requeue(tab))
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def _reload_and_requeue(self, tab: Any) -> None:
        await tab.reload()
        await self.tabs_ready.put(tab)


class PngRenderer:
    """One headless Chromium (via kaleido) per process, kept warm on its own event loop."""

    def __init__(self, tabs: int = 2, timeout_s: float = 60.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="kaleido")
        self._thread.start()
        self._kaleido = _ReusingKaleido(n=tabs, timeout=timeout_s)
        self._timeout_s = timeout_s
        self._call(self._kaleido.open())

    def _call(self, coroutine: Any, timeout_s: float | None = None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        limit = self._timeout_s if timeout_s is None else timeout_s
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            raise ChartRenderError(f"the PNG export took longer than {limit:.1f} s") from error

    def render(self, figure: dict[str, Any], *, width: int, height: int) -> bytes:
        """PNG bytes of a Plotly figure dict at ``width`` × ``height`` CSS pixels.

        Waits at most the renderer's timeout, capped at the time left in the run's budget
        (``apps.common.deadlines``). Raises ChartRenderError when the export takes longer, and
        RunTimeBudgetExceededError, without starting, when the run has no time left.
        """
        opts = {"format": "png", "width": width, "height": height}
        timeout_s = time_left(self._timeout_s, "the chart PNG export")
        coroutine = self._kaleido.calc_fig(figure, opts=opts)  # type: ignore[arg-type]
        png: bytes = self._call(coroutine, timeout_s)
        return png

    def close(self) -> None:
        """Close the browser and stop the loop."""
        try:
            self._call(self._kaleido.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)


_renderer: PngRenderer | None = None
_renderer_pid = 0
_renderer_lock = threading.Lock()


def png_renderer() -> PngRenderer:
    """The process's warm renderer, started on first use and closed at exit.

    A forked child (prefork workers) starts its own: the parent's event-loop thread does not
    survive a fork. Raises ChartRenderError when Chromium cannot be started.
    """
    global _renderer, _renderer_pid
    with _renderer_lock:
        if _renderer is None or _renderer_pid != os.getpid():
            try:
                _renderer = PngRenderer()
            except Exception as error:  # kaleido/choreographer raise many types
                raise ChartRenderError(f"cannot start Chromium for PNG export: {error}") from error
            _renderer_pid = os.getpid()
            atexit.register(_renderer.close)
        return _renderer


def _series(values: FloatArray) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values.tolist()]


def _axis_names(row: int) -> tuple[str, str]:
    suffix = "" if row == 1 else str(row)
    return f"x{suffix}", f"y{suffix}"


def _panel_domains(count: int) -> list[tuple[float, float]]:
    """Vertical domains, top first: price 55 %, volume 15 %, the rest shared by oscillators."""
    heights = [0.55, 0.15] + [0.30 / (count - 2)] * (count - 2) if count > 2 else [0.75, 0.25]
    gap, top, domains = 0.03, 1.0, []
    usable = 1.0 - gap * (count - 1)
    for height in heights:
        bottom = top - height * usable
        domains.append((max(bottom, 0.0), top))
        top = bottom - gap
    return domains


def _layout(title: str, titles: list[str], anonymise: bool = False) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "template": CHART_TEMPLATE,
        "showlegend": True,
        "height": None,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 30},
        "annotations": [],
        "title": {"text": title, "x": 0.5},
    }
    for row, (bottom, top) in enumerate(_panel_domains(len(titles)), start=1):
        x_name, y_name = _axis_names(row)
        layout[f"xaxis{'' if row == 1 else row}"] = {
            "anchor": y_name,
            "matches": None if row == 1 else "x",
            "rangeslider": {"visible": False},
            "showticklabels": row == len(titles),
            "type": "linear" if anonymise else "date",
        }
        if anonymise and row == len(titles):
            layout[f"xaxis{'' if row == 1 else row}"]["title"] = {"text": ANONYMOUS_X_TITLE}
        layout[f"yaxis{'' if row == 1 else row}"] = {"anchor": x_name, "domain": [bottom, top]}
        if row > 1:
            layout["annotations"].append(
                {
                    "text": titles[row - 1],
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.0,
                    "xanchor": "left",
                    "y": top,
                    "yanchor": "bottom",
                }
            )
    return layout


def build_figure(
    title: str, bars: BarSeries, indicators: list[IndicatorResult], *, anonymise: bool = False
) -> dict[str, Any]:
    """Return the Plotly figure (a plain figure dict) for N bars and indicator outputs aligned
    with them: candlesticks and overlays in row 1, volume in row 2, one row per oscillator.

    ``anonymise`` (the leakage guard of evaluation runs): no title (``title`` ignored) and no
    date — the x axis is the bar offset from the last bar, −(N−1) … 0 (linear axis), so the
    figure carries neither ticker nor time."""
    panels = [result for result in indicators if not result.on_price_panel]
    if anonymise:
        title = ""
        x: list[Any] = [-offset for offset in range(len(bars) - 1, -1, -1)]
    else:
        x = [moment.isoformat() for moment in bars.ts]
    data: list[dict[str, Any]] = [
        {
            "type": "candlestick",
            "name": "OHLC",
            "x": x,
            "open": _series(bars.open),
            "high": _series(bars.high),
            "low": _series(bars.low),
            "close": _series(bars.close),
            "xaxis": "x",
            "yaxis": "y",
        }
    ]
    for result in indicators:
        if result.on_price_panel:
            data += [
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": key,
                    "x": x,
                    "y": _series(series),
                    "xaxis": "x",
                    "yaxis": "y",
                }
                for key, series in result.outputs.items()
            ]
    data.append(
        {
            "type": "bar",
            "name": "Volume",
            "x": x,
            "y": _series(bars.volume),
            "marker": {"color": "#888"},
            "xaxis": "x2",
            "yaxis": "y2",
        }
    )
    for row, result in enumerate(panels, start=3):
        x_name, y_name = _axis_names(row)
        data += [
            {
                "type": "bar" if key.endswith("hist") else "scatter",
                "mode": "lines",
                "name": key,
                "x": x,
                "y": _series(series),
                "xaxis": x_name,
                "yaxis": y_name,
            }
            for key, series in result.outputs.items()
        ]
    titles = [title, "Volume"] + [result.spec.key for result in panels]
    return {"data": data, "layout": _layout(title, titles, anonymise)}


def figure_json(figure: dict[str, Any]) -> str:
    """The figure as stored (the ``chart_json`` artifact): compact JSON in the figure's own key
    order, which ``build_figure`` fixes, so equal inputs give equal text."""
    return json.dumps(figure, separators=(",", ":"))


def png_render_key(figure_text: str) -> str:
    """SHA-256 (hex) of everything that determines a chart's PNG: the figure JSON
    (``figure_json``), the export size and format (CHART_PNG_WIDTH/HEIGHT, scale 1) and the
    plotly version (whose plotly.js kaleido draws with). Equal keys give byte-equal PNGs."""
    settings_part = (
        f"png {settings.CHART_PNG_WIDTH}x{settings.CHART_PNG_HEIGHT} scale 1 "
        f"plotly {plotly.__version__}\n"
    )
    return hashlib.sha256(settings_part.encode() + figure_text.encode()).hexdigest()


def render_png(figure: dict[str, Any]) -> bytes:
    """Export a figure as PNG bytes (size from CHART_PNG_WIDTH/HEIGHT).

    Raises ChartRenderError when the PNG export fails (e.g. Chromium is missing).
    """
    try:
        return png_renderer().render(
            figure,
            width=settings.CHART_PNG_WIDTH,
            height=settings.CHART_PNG_HEIGHT,
        )
    except ChartRenderError:
        raise
    except Exception as error:  # kaleido raises several unrelated types
        raise ChartRenderError(f"PNG export failed: {type(error).__name__}: {error}") from error
