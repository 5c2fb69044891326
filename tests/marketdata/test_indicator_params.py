"""Indicator parameters are range-checked when a spec is saved (issue 12, "Bounds"): values
TA-Lib refuses, overflowing numbers and non-finite numbers are field errors, not run failures."""

import math
from typing import Any

import pytest

from apps.marketdata.indicators import IndicatorSpecError, parse_indicator_specs


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "RSI", "params": {"timeperiod": 1e308}}, r"timeperiod=1e\+308 is outside"),
        ({"name": "RSI", "params": {"timeperiod": 100_001}}, "timeperiod=100001 is outside"),
        ({"name": "RSI", "params": {"timeperiod": 1}}, "timeperiod=1 is outside"),
        ({"name": "SMA", "params": {"timeperiod": -5}}, "timeperiod=-5 is outside"),
        ({"name": "BBANDS", "params": {"nbdevup": 1e308}}, r"nbdevup=1e\+308 is outside"),
        ({"name": "MA", "params": {"matype": 99}}, "matype=99 is outside"),
        ({"name": "SAR", "params": {"acceleration": math.nan}}, "acceleration must be a finite"),
        ({"name": "BBANDS", "params": {"nbdevdn": math.inf}}, "nbdevdn must be a finite"),
    ],
)
def test_out_of_range_parameters_are_refused_naming_the_parameter(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(IndicatorSpecError, match=message):
        parse_indicator_specs([spec])


def test_the_message_does_not_spell_out_a_300_digit_number() -> None:
    with pytest.raises(IndicatorSpecError) as caught:
        parse_indicator_specs([{"name": "EMA", "params": {"timeperiod": 1e308}}])
    assert len(str(caught.value)) < 120


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "RSI", "params": {"timeperiod": 2}},
        {"name": "RSI", "params": {"timeperiod": 100_000}},
        {"name": "BBANDS", "params": {"timeperiod": 20, "nbdevup": 2.5, "nbdevdn": 2, "matype": 8}},
        {"name": "MACD", "params": {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}},
        {"name": "STOCH"},
        {"name": "SAR", "params": {"acceleration": 0.02, "maximum": 0.2}},
    ],
)
def test_parameters_within_talibs_ranges_are_accepted(spec: dict[str, Any]) -> None:
    assert parse_indicator_specs([spec])[0].name == spec["name"]
