"""A replay run's first three steps: the source run's stored data, indicators and charts.

A replay run (``Run.replay_of`` set, trigger ``replay``) re-executes a stored run from the llm
step. Its ``data``, ``indicators`` and ``charts`` steps are recorded as usual, but nothing is
computed: each step's input is the source step's, its output the source step's plus
``reused_from_run`` (the source run's id), and the run's state is restored from what the source
stored:

- the bars (``RunContext.bars``): the OHLCV arrays and open times of the source's chart JSON
  (``chart_json`` artifact; JSON floats read back to the same float64 values the source
  computed with), and the exact ``last_close`` (Decimal) of the source's data step output —
  no bar is read from the store or a broker;
- the indicators (``RunContext.indicators``): the specs of the source's indicators step input,
  each output series read back from the chart JSON trace of its name (TA-Lib's output names
  give the keys, the step output ``groups`` the groups), and the latest values
  (``RunContext.latest_indicators``) from the step output ``latest``, in the order the source
  computed them (a JSON column does not keep key order, the prompt does);
- the chart (``RunContext.chart``): the source's figure JSON and PNG bytes, read back and
  checked against their SHA-256; the replay's charts step links the same content-addressed
  files (``artifact_link``: new rows, no byte written, no render).

A source run whose charts step did not succeed, or whose chart files are gone or altered,
cannot be replayed (``replay_skip_reason``; ``source_inputs`` raises NotReplayableError).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from talib import abstract

from apps.common.errors import SibylError
from apps.lineage.models import Artifact, Run, Step, StepStatus
from apps.lineage.services import StepRecorder, artifact_link
from apps.marketdata.charts import Chart
from apps.marketdata.indicators import (
    IndicatorResult,
    IndicatorSpec,
    IndicatorSpecError,
    finite_or_none,
    parse_indicator_specs,
)
from apps.marketdata.series import BarSeries, FloatArray
from apps.pipeline.context import RunContext

# The steps a replay run takes from its source run instead of computing them, in order.
REUSED_STEPS = ("data", "indicators", "charts")


class NotReplayableError(SibylError):
    """A stored run cannot be replayed from the llm step: its charts step did not succeed, or
    its stored chart is missing or altered. The message says why."""


@dataclass(frozen=True)
class SourceInputs:
    """What a replay run reuses of its source run ``run_id``: the succeeded ``data``,
    ``indicators`` and ``charts`` steps (by name) and the chart's two artifacts with their
    bytes (checked against the rows' SHA-256)."""

    run_id: int
    steps: dict[str, Step]
    chart_png: Artifact
    chart_json: Artifact
    png: bytes
    figure_json: str


def _first_steps(run_id: int) -> dict[str, Step]:
    steps: dict[str, Step] = {}
    for step in Step.objects.filter(run_id=run_id, name__in=REUSED_STEPS).order_by("sequence"):
        steps.setdefault(step.name, step)
    return steps


def _stop_description(run_id: int) -> str:
    """Where the source run stopped, for a skip reason: ``failed at data: <error>``, …"""
    last = Step.objects.filter(run_id=run_id).exclude(status=StepStatus.SUCCEEDED).first()
    if last is None:
        run = Run.objects.filter(pk=run_id).values_list("status", "error_message").first()
        status, error = run if run else ("missing", "")
        return f"it has no steps (run {status}{': ' + error if error else ''})"
    detail = last.error_message or (last.output or {}).get("skipped", "")
    return f"its step {last.name} {last.status}{': ' + str(detail) if detail else ''}"


def _artifact(step: Step, kind: str) -> Artifact | None:
    return step.artifacts.filter(kind=kind).exclude(sha256="").order_by("id").first()


def _read_checked(artifact: Artifact) -> bytes:
    """The artifact's bytes; NotReplayableError when the file is gone or its SHA-256 differs."""
    try:
        with artifact.file.storage.open(artifact.file.name or "", "rb") as handle:
            content: bytes = handle.read()
    except OSError as error:
        raise NotReplayableError(f"its {artifact.kind} file is no longer stored") from error
    if hashlib.sha256(content).hexdigest() != artifact.sha256:
        raise NotReplayableError(f"its {artifact.kind} file no longer matches its SHA-256")
    return content


def source_inputs(run_id: int) -> SourceInputs:
    """Load what a replay reuses of stored run ``run_id`` (module docstring). Raises
    NotReplayableError (message: why, naming the run) when its charts step did not succeed or
    its chart artifacts are missing, not content-addressed or altered."""
    steps = _first_steps(run_id)
    if any(
        steps.get(name) is None or steps[name].status != StepStatus.SUCCEEDED
        for name in REUSED_STEPS
    ):
        raise NotReplayableError(
            f"source run {run_id} has no succeeded charts step ({_stop_description(run_id)})"
        )
    charts = steps["charts"]
    png_row, json_row = _artifact(charts, "chart_png"), _artifact(charts, "chart_json")
    if png_row is None or json_row is None:
        raise NotReplayableError(
            f"source run {run_id} has no content-addressed chart_png and chart_json artifacts"
        )
    try:
        png, text = _read_checked(png_row), _read_checked(json_row).decode()
    except NotReplayableError as error:
        raise NotReplayableError(f"source run {run_id}: {error}") from error
    return SourceInputs(
        run_id=run_id,
        steps=steps,
        chart_png=png_row,
        chart_json=json_row,
        png=png,
        figure_json=text,
    )


def replay_skip_reason(run_id: int) -> str:
    """Why stored run ``run_id`` cannot be replayed (``NotReplayableError``'s message), or
    ``""`` when it can. Reads the chart files to check them."""
    try:
        source_inputs(run_id)
    except NotReplayableError as error:
        return str(error)
    return ""


def _floats(values: list[float | None]) -> FloatArray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def bars_from_chart(figure_json: str, last_close: Decimal) -> BarSeries:
    """The bars a chart was drawn from: open times and OHLC of its candlestick trace, volume
    of its ``Volume`` bar trace (``apps.marketdata.charts.build_figure``), and the exact
    ``last_close``. Raises NotReplayableError when the figure has no such traces or they
    disagree in length."""
    traces = json.loads(figure_json).get("data", [])
    candles = next((t for t in traces if t.get("type") == "candlestick"), None)
    volume = next((t for t in traces if t.get("type") == "bar" and t.get("name") == "Volume"), None)
    if candles is None or volume is None or len(candles["x"]) != len(volume["y"]):
        raise NotReplayableError("its chart JSON has no candlestick and volume traces of the bars")
    return BarSeries(
        ts=[datetime.fromisoformat(x) for x in candles["x"]],
        open=_floats(candles["open"]),
        high=_floats(candles["high"]),
        low=_floats(candles["low"]),
        close=_floats(candles["close"]),
        volume=_floats(volume["y"]),
        last_close=last_close,
    )


def _output_keys(spec: IndicatorSpec) -> list[str]:
    """The output keys ``compute_indicator`` gives ``spec``'s results (TA-Lib's metadata)."""
    names: list[str] = abstract.Function(spec.name).info["output_names"]  # type: ignore[attr-defined]
    return [spec.key] if len(names) == 1 else [f"{spec.key}_{name}" for name in names]


def indicators_from_chart(
    figure_json: str, raw_specs: object, groups: dict[str, str]
) -> list[IndicatorResult]:
    """The indicator results a chart was drawn from: one per spec of ``raw_specs`` (the
    strategy's indicator list as the source's indicators step recorded it), in order, each
    output series from the chart trace of its key, its TA-Lib group from ``groups``. Raises
    NotReplayableError when a spec no longer parses or an output has no trace."""
    traces = json.loads(figure_json).get("data", [])
    series = {
        t.get("name"): t.get("y", [])
        for t in traces
        if t.get("type") != "candlestick"
        and not (t.get("name") == "Volume" and t.get("xaxis") == "x2")
    }
    try:
        specs = parse_indicator_specs(raw_specs)
    except IndicatorSpecError as error:
        raise NotReplayableError(f"its indicator specs no longer parse: {error}") from error
    results = []
    for spec in specs:
        keys = _output_keys(spec)
        missing = [key for key in keys if key not in series]
        if missing:
            raise NotReplayableError(f"its chart has no series {missing}")
        outputs = {key: _floats(series[key]) for key in keys}
        results.append(IndicatorResult(spec=spec, group=groups.get(spec.key, ""), outputs=outputs))
    return results


def reused_input(source: SourceInputs, name: str) -> dict[str, Any]:
    """The input recorded for a replay's step ``name``: the source step's input."""
    return dict(source.steps[name].input or {})


def reuse_step(ctx: RunContext, recorder: StepRecorder, name: str, source: SourceInputs) -> None:
    """Run step ``name`` (one of ``REUSED_STEPS``) of a replay run from ``source``: restore the
    run state the step would have set (module docstring) and record the source step's output
    with ``reused_from_run``; the charts step links the source's chart artifacts. Raises
    NotReplayableError when the stored values cannot be read back."""
    step = source.steps[name]
    output: dict[str, Any] = {**(step.output or {}), "reused_from_run": source.run_id}
    if name == "data":
        try:
            last_close = Decimal(str(output["last_close"]))
        except (KeyError, InvalidOperation) as error:
            raise NotReplayableError(f"source run {source.run_id}: no last close") from error
        ctx.bars = bars_from_chart(source.figure_json, last_close)
    elif name == "indicators":
        stored = dict(output.get("latest") or {})
        raw_specs = (step.input or {}).get("indicators", [])
        ctx.indicators = indicators_from_chart(
            source.figure_json, raw_specs, dict(output.get("groups") or {})
        )
        ctx.latest_indicators = {
            key: stored[key] if key in stored else finite_or_none(values[-1])
            for result in ctx.indicators
            for key, values in result.outputs.items()
        }
    elif name == "charts":
        ctx.chart = Chart(figure_json=source.figure_json, png=source.png)
        artifact_link(step=recorder.step, source=source.chart_png)
        artifact_link(step=recorder.step, source=source.chart_json)
        output["render"] = "reused"
    else:
        raise ValueError(f"step {name!r} is not reused by a replay")
    recorder.output = output
