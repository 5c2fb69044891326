"""The state a run carries from step to step (each step reads earlier fields, sets its own)."""

from dataclasses import dataclass, field

from django.db.models import Model

from apps.analysis.analysts import AnalystAnswer
from apps.lineage.models import Run
from apps.marketdata.charts import Chart
from apps.marketdata.indicators import IndicatorResult
from apps.marketdata.series import BarSeries
from apps.orders.models import Order
from apps.orders.sizing import SizingResult
from apps.pipeline.prefetch import SlotInputs
from apps.signals.models import Signal
from apps.strategies.models import Strategy


@dataclass
class RunContext:
    """One run's working state. ``stop_reason`` set by a step ends the run early, successfully
    (e.g. HOLD or a rejected signal: no order step). ``unrecorded`` holds rows a step built but
    could not save because the database went away (e.g. the LlmCall of a call that was paid
    for): the executor saves them once the database is back, or logs them. ``prefetched``: the
    slot's bars, indicators and chart a backtest computed ahead (``apps.pipeline.prefetch``),
    set by the data step when there are some."""

    run: Run
    strategy: Strategy
    bars: BarSeries | None = None
    indicators: list[IndicatorResult] = field(default_factory=list)
    latest_indicators: dict[str, float | None] = field(default_factory=dict)
    chart: Chart | None = None
    prompt: str = ""
    answer: AnalystAnswer | None = None
    signal: Signal | None = None
    sizing: SizingResult | None = None
    orders: list[Order] = field(default_factory=list)
    stop_reason: str = ""
    unrecorded: list[Model] = field(default_factory=list)
    prefetched: SlotInputs | None = None
