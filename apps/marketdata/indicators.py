"""Technical indicators from a strategy's spec, computed with TA-Lib's abstract API.

Spec: a list of ``{"name": "RSI", "params": {"timeperiod": 14}, "key": "RSI"}``; ``name`` is a
TA-Lib function (``talib.get_functions()``), ``params`` its parameters (TA-Lib's defaults
otherwise), ``key`` the name in prompts and lineage (default: the function name). A function with
several outputs keeps each one as ``<key>_<output>`` (e.g. ``MACD_macdhist``, ``BBANDS_upperband``).
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import talib
from talib import abstract

from apps.common.decimals import finite_or_none
from apps.common.errors import SibylError
from apps.marketdata.series import BarSeries, FloatArray

PRICE_PANEL_GROUP = "Overlap Studies"


class IndicatorSpecError(SibylError):
    """An indicator spec names an unknown TA-Lib function or parameter, or a bad value."""


@dataclass(frozen=True)
class IndicatorSpec:
    """One validated indicator request."""

    name: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class IndicatorResult:
    """Each output series, shape (N,) aligned with the bars, and the function's TA-Lib group."""

    spec: IndicatorSpec
    group: str
    outputs: dict[str, FloatArray]

    @property
    def on_price_panel(self) -> bool:
        """Overlap studies (moving averages, bands) share the price axis; others get a panel."""
        return self.group == PRICE_PANEL_GROUP


def _function_info(name: str) -> dict[str, Any]:
    if name not in talib.get_functions():
        raise IndicatorSpecError(f"unknown TA-Lib function {name!r}")
    info: dict[str, Any] = abstract.Function(  # type: ignore[attr-defined]
        name
    ).info
    return info


def _parse_one(raw: object, position: int) -> IndicatorSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise IndicatorSpecError(f"indicator #{position}: expected an object with a 'name'")
    unknown_fields = set(raw) - {"name", "params", "key"}
    if unknown_fields:
        raise IndicatorSpecError(
            f"indicator #{position}: unknown field(s) {sorted(unknown_fields)}"
        )
    name = raw["name"].upper()
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise IndicatorSpecError(f"indicator {name}: 'params' must be an object")
    allowed = _function_info(name)["parameters"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise IndicatorSpecError(
            f"indicator {name}: unknown parameter(s) {unknown}; TA-Lib accepts {list(allowed)}"
        )
    coerced = {
        param: _coerce(name, param, value, allowed[param]) for param, value in params.items()
    }
    _check_ranges(name, coerced, raw_params=params)
    return IndicatorSpec(name=name, key=str(raw.get("key") or name), params=coerced)


def _check_ranges(
    function: str, params: dict[str, int | float], raw_params: dict[str, Any]
) -> None:
    """Refuse values outside TA-Lib's own ranges when the spec is saved, not at the run.

    The ranges live in TA-Lib's C parameter tables (e.g. timeperiod 2..100000 for RSI/SMA, a
    real multiplier within ±3e37, matype 0..8), which the Python binding does not expose; TA-Lib
    checks them on every call and answers TA_BAD_PARAM. So each given parameter is tried alone
    (the others at their defaults) on a one-bar input, which names the offending parameter,
    then all of them together.
    """
    for param, value in params.items():
        if not _accepted_by_talib(function, {param: value}):
            raise IndicatorSpecError(
                f"indicator {function}: parameter {param}={raw_params[param]!r} is outside the"
                " range TA-Lib accepts"
            )
    if len(params) > 1 and not _accepted_by_talib(function, params):
        raise IndicatorSpecError(
            f"indicator {function}: TA-Lib refuses the parameters {raw_params} together"
        )


def _accepted_by_talib(function: str, params: dict[str, int | float]) -> bool:
    talib_function = abstract.Function(function)  # type: ignore[attr-defined]
    names = _input_names(talib_function.info["input_names"])
    one_bar = {input_name: np.ones(1, dtype=np.float64) for input_name in names}
    try:
        talib_function.set_parameters(**params)
        talib_function.run(one_bar)
    except Exception:  # TA-Lib raises bare Exception (TA_BAD_PARAM) or OverflowError
        return False
    return True


def _input_names(inputs: dict[str, str | list[str]]) -> set[str]:
    """The price series a TA-Lib function reads (``{"prices": ["high", "low"]}`` → both)."""
    names: set[str] = set()
    for value in inputs.values():
        names.update([value] if isinstance(value, str) else value)
    return names


def _coerce(function: str, param: str, value: object, default: object) -> int | float:
    """Match TA-Lib's parameter type (its default's): 2 → 2.0 for a float, 14.0 → 14 for an int."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if is_number and not math.isfinite(value):  # type: ignore[arg-type]
        # NaN passes every range comparison in TA-Lib, so it is refused here.
        raise IndicatorSpecError(
            f"indicator {function}: parameter {param} must be a finite number, got {value!r}"
        )
    if is_number and isinstance(default, float):
        return float(value)  # type: ignore[arg-type]
    if is_number and isinstance(default, int) and float(value).is_integer():  # type: ignore[arg-type]
        return int(value)  # type: ignore[call-overload]
    raise IndicatorSpecError(
        f"indicator {function}: parameter {param} must be "
        f"{'a number' if isinstance(default, float) else 'a whole number'}, got {value!r}"
    )


def parse_indicator_specs(raw_specs: object) -> list[IndicatorSpec]:
    """Validate a strategy's JSON indicator list; raises IndicatorSpecError on any problem."""
    if not isinstance(raw_specs, list):
        raise IndicatorSpecError("indicators must be a list")
    specs = [_parse_one(raw, n) for n, raw in enumerate(raw_specs, start=1)]
    keys = [spec.key for spec in specs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise IndicatorSpecError(
            f"duplicate indicator key(s) {duplicates}: set 'key' to tell apart"
        )
    return specs


def compute_indicator(spec: IndicatorSpec, bars: BarSeries) -> IndicatorResult:
    """Run one TA-Lib function over the bars; raises IndicatorSpecError for bad parameters."""
    function = abstract.Function(spec.name)  # type: ignore[attr-defined]
    try:
        function.set_parameters(**spec.params)
        raw = function.run(bars.inputs())
    except Exception as error:  # TA-Lib raises bare Exception for bad parameters
        raise IndicatorSpecError(f"indicator {spec.name} {spec.params}: {error}") from error
    names: list[str] = function.info["output_names"]
    arrays = raw if isinstance(raw, list) else [raw]
    if len(names) == 1:
        outputs = {spec.key: np.asarray(arrays[0], dtype=np.float64)}
    else:
        outputs = {
            f"{spec.key}_{name}": np.asarray(array, dtype=np.float64)
            for name, array in zip(names, arrays, strict=True)
        }
    return IndicatorResult(spec=spec, group=function.info["group"], outputs=outputs)


def compute_indicators(specs: list[IndicatorSpec], bars: BarSeries) -> list[IndicatorResult]:
    """Compute every indicator of a strategy over the same bars."""
    return [compute_indicator(spec, bars) for spec in specs]


def latest_values(results: list[IndicatorResult]) -> dict[str, float | None]:
    """The last value of every output (None while TA-Lib is still warming up)."""
    return {
        key: finite_or_none(series[-1]) if len(series) else None
        for result in results
        for key, series in result.outputs.items()
    }
