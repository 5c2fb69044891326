"""Slot inputs computed ahead: a backtest's bars, indicators and charts, before its walk.

Issue 16: data, indicators and charts do not depend on positions, so a backtest may compute
them for its coming slots while the llm → signal → order steps of earlier slots run. A
``SlotPrefetch`` does that in background threads (``BACKTEST_PREFETCH_WORKERS``, default 2,
so PNG exports use both cores), at most ``BACKTEST_PREFETCH_AHEAD`` slots ahead of the walk,
with the very functions the steps call (``apps.pipeline.steps.data.bars_load``,
``apps.marketdata.indicators.compute_indicators``, ``apps.pipeline.steps.charts.chart_make``);
the run's data, indicators and charts steps then take the results (``slot_inputs``) instead of
computing them again, and record the same lineage (inputs, outputs, artifacts) as without
prefetch. A prefetch that failed is ignored: the step computes itself and fails as it would.

Inputs are shared in the process by key (symbol, bar size, lookback, indicator spec, as-of:
everything they depend on), so variants of one backtest running in one worker process compute
each slot's inputs, and render each chart, once; the first run to take a rendered chart
records ``rendered``, the others ``reused``. Only for the embedded bar store (another provider
fetches from a broker, with pacing, in the step) and for committed data (a caller inside a
transaction: its rows are invisible to the threads' connections, so nothing is prefetched).
"""

import json
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

from django.conf import settings
from django.db import connection

from apps.common.deadlines import time_left
from apps.marketdata.charts import Chart
from apps.marketdata.indicators import IndicatorResult, compute_indicators, parse_indicator_specs
from apps.marketdata.providers import provider_for
from apps.marketdata.series import BarSeries
from apps.strategies.models import Strategy

DEFAULT_WORKERS = 2
DEFAULT_AHEAD = 16
WAIT_S = 120.0  # at most this long (and never past the run's budget) for a slot's inputs

# (symbol id, bar size, lookback, indicator spec as JSON, as-of ISO time)
InputsKey = tuple[int, str, int, str, str]


@dataclass
class SlotInputs:
    """What the data, indicators and charts steps of one slot produce: the bars (oldest first)
    and the provider's name, the indicator results aligned with the bars, the chart (figure
    JSON and PNG bytes) with its ``render_key`` and whether its PNG was ``rendered`` for it or
    ``reused`` from a stored artifact (``render_claim``)."""

    bars: BarSeries
    provider: str
    indicators: list[IndicatorResult]
    chart: Chart
    render_key: str
    render: str
    _claimed: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def render_claim(self) -> str:
        """``rendered`` for the first run that takes a chart rendered by the prefetch, else
        ``reused``: each PNG export is recorded once, by the run that stores it first."""
        with self._lock:
            if self.render != "rendered" or self._claimed:
                return "reused"
            self._claimed = True
            return "rendered"


@dataclass
class _Entry:
    future: Future[SlotInputs]
    users: int = 0


_entries: dict[InputsKey, _Entry] = {}
_entries_lock = threading.Lock()


def inputs_key(strategy: Strategy, as_of: datetime) -> InputsKey:
    """Everything a slot's bars, indicators and chart depend on, for ``strategy`` as of
    ``as_of`` (tz-aware UTC). The chart's title is made of the symbol, bar size and as-of."""
    spec = json.dumps(strategy.indicators, sort_keys=True, separators=(",", ":"))
    return (strategy.symbol_id, strategy.bar_size, strategy.lookback, spec, as_of.isoformat())


def slot_inputs(strategy: Strategy, as_of: datetime) -> SlotInputs | None:
    """The prefetched inputs of ``strategy``'s slot at ``as_of``, waiting for them while they
    are computed (at most ``WAIT_S`` and the run's time left); None when no prefetch covers the
    slot or its computation failed (the step then computes itself)."""
    with _entries_lock:
        entry = _entries.get(inputs_key(strategy, as_of))
    if entry is None:
        return None
    try:
        return entry.future.result(time_left(WAIT_S, "the prefetched slot inputs"))
    except Exception:  # the step computes itself, and records its own error
        return None


def _compute(strategy: Strategy, as_of: datetime) -> SlotInputs:
    """A slot's inputs, computed as the steps compute them."""
    from apps.pipeline.steps.charts import chart_make
    from apps.pipeline.steps.data import bars_load

    provider = provider_for()
    bars = bars_load(provider, strategy, as_of)
    indicators = compute_indicators(parse_indicator_specs(strategy.indicators), bars)
    made = chart_make(strategy, as_of, bars, indicators)
    return SlotInputs(
        bars=bars,
        provider=provider.name,
        indicators=indicators,
        chart=made.chart,
        render_key=made.render_key,
        render=made.render,
    )


def prefetch_possible() -> bool:
    """Whether slot inputs can be prefetched here: the embedded bar store is the provider and
    no transaction is open on this thread's connection (whose rows the threads could not see)."""
    return provider_for().name == "embedded" and not connection.in_atomic_block


class SlotPrefetch:
    """Computes the inputs of ``slots`` (tz-aware UTC, in walk order) of ``strategy`` in
    ``workers`` background threads, at most ``ahead`` slots past the last ``advance``. A
    context manager: leaving it stops the threads (each closes its database connection) and
    forgets the inputs no other prefetch shares."""

    def __init__(
        self,
        strategy: Strategy,
        slots: Sequence[datetime],
        *,
        workers: int | None = None,
        ahead: int | None = None,
    ) -> None:
        self._strategy = strategy
        self._slots = list(slots)
        self._workers = (
            getattr(settings, "BACKTEST_PREFETCH_WORKERS", DEFAULT_WORKERS)
            if workers is None
            else workers
        )
        self._ahead = getattr(settings, "BACKTEST_PREFETCH_AHEAD", DEFAULT_AHEAD)
        if ahead is not None:
            self._ahead = ahead
        self._queue: queue.Queue[tuple[InputsKey, datetime, Future[SlotInputs]] | None]
        self._queue = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._keys: list[InputsKey] = []
        self._submitted = 0  # slots queued (or shared with another prefetch) so far
        self._released = 0  # slots whose inputs this prefetch no longer holds

    def __enter__(self) -> "SlotPrefetch":
        if self._workers > 0 and self._slots and prefetch_possible():
            self._threads = [
                threading.Thread(target=self._work, name=f"slot-prefetch-{n}", daemon=True)
                for n in range(self._workers)
            ]
            for thread in self._threads:
                thread.start()
            self.advance(0)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
        self._release(self._keys)
        self._keys = []
        self._released = self._submitted

    def advance(self, walked: int) -> None:
        """The walk is at slot index ``walked``: queue the slots up to ``walked + ahead`` and
        forget the inputs of the slots before it."""
        if not self._threads:
            return
        until = min(len(self._slots), walked + self._ahead + 1)
        while self._submitted < until:
            slot = self._slots[self._submitted]
            key = inputs_key(self._strategy, slot)
            with _entries_lock:
                entry = _entries.get(key)
                fresh = entry is None
                if entry is None:
                    entry = _entries[key] = _Entry(future=Future())
                entry.users += 1
            self._keys.append(key)
            if fresh:
                self._queue.put((key, slot, entry.future))
            self._submitted += 1
        done = min(walked, self._submitted) - self._released
        if done > 0:
            self._release(self._keys[:done])
            del self._keys[:done]
            self._released += done

    @staticmethod
    def _release(keys: list[InputsKey]) -> None:
        with _entries_lock:
            for key in keys:
                entry = _entries.get(key)
                if entry is None:
                    continue
                entry.users -= 1
                if entry.users <= 0:
                    del _entries[key]
                    entry.future.cancel()  # not started yet: never computed

    def _work(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                _key, slot, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(_compute(self._strategy, slot))
                except BaseException as error:
                    future.set_exception(error)
        finally:
            connection.close()


def prefetch_stats() -> dict[str, Any]:
    """How many slot inputs the process holds now (tests, diagnostics)."""
    with _entries_lock:
        return {"entries": len(_entries)}
