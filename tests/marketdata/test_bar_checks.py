"""bar_checks: every rule of ``validate_bars`` and ``bar_problems``."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.marketdata.bar_checks import (
    MAX_PROBLEMS_SHOWN,
    BarValidationError,
    OhlcvRow,
    bar_problems,
    validate_bars,
)

START = datetime(2024, 1, 2, tzinfo=UTC)


def row(
    day: int = 0,
    *,
    open: str = "10",
    high: str = "12",
    low: str = "9",
    close: str = "11",
    volume: str = "100",
) -> OhlcvRow:
    return OhlcvRow(
        ts=START + timedelta(days=day),
        open=Decimal(open),
        high=Decimal(high),
        low=Decimal(low),
        close=Decimal(close),
        volume=Decimal(volume),
    )


def test_sound_bars_pass() -> None:
    validate_bars([row(0), row(1), row(2)])
    assert bar_problems(row()) == []


def test_no_bars_pass() -> None:
    validate_bars([])


def test_flat_bar_with_zero_volume_is_sound() -> None:
    assert bar_problems(row(open="5", high="5", low="5", close="5", volume="0")) == []


def test_unsorted_bars_are_rejected() -> None:
    with pytest.raises(BarValidationError, match="not after the previous bar"):
        validate_bars([row(0), row(2), row(1)])


def test_duplicate_timestamps_are_rejected() -> None:
    with pytest.raises(BarValidationError, match="1 bad bar") as caught:
        validate_bars([row(0), row(1), row(1)])
    assert (START + timedelta(days=1)).isoformat() in str(caught.value)


@pytest.mark.parametrize("field", ["open", "high", "low", "close", "volume"])
@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_non_finite_values_are_rejected(field: str, value: str) -> None:
    bad = row(**{field: value})  # type: ignore[arg-type]
    assert bar_problems(bad) == ["a price or the volume is not a finite number"]
    with pytest.raises(BarValidationError, match="not a finite number"):
        validate_bars([bad])


@pytest.mark.parametrize("price", ["0", "-1"])
def test_zero_or_negative_price_is_rejected(price: str) -> None:
    with pytest.raises(BarValidationError, match="a price is zero or negative"):
        validate_bars([row(low=price)])


def test_negative_volume_is_rejected() -> None:
    assert bar_problems(row(volume="-1")) == ["volume is negative"]


def test_high_below_low_is_rejected() -> None:
    problems = bar_problems(row(open="10", high="9", low="11", close="10"))
    assert "high 9 < low 11" in problems


def test_high_below_open_or_close_is_rejected() -> None:
    assert bar_problems(row(open="13", high="12")) == ["high 12 < max(open, close)"]
    assert bar_problems(row(close="13", high="12")) == ["high 12 < max(open, close)"]


def test_low_above_open_or_close_is_rejected() -> None:
    assert bar_problems(row(open="8.5", low="9")) == ["low 9 > min(open, close)"]
    assert bar_problems(row(close="8.5", low="9")) == ["low 9 > min(open, close)"]


def test_every_problem_of_one_bar_is_named() -> None:
    problems = bar_problems(row(open="-1", high="1", low="2", close="3", volume="-5"))
    assert problems == [
        "a price is zero or negative",
        "volume is negative",
        "high 1 < low 2",
        "high 1 < max(open, close)",
        "low 2 > min(open, close)",
    ]


def test_message_counts_all_problems_and_shows_the_first_few() -> None:
    bars = [row(day, volume="-1") for day in range(MAX_PROBLEMS_SHOWN + 3)]
    with pytest.raises(BarValidationError) as caught:
        validate_bars(bars)
    message = str(caught.value)
    assert message.startswith(f"{MAX_PROBLEMS_SHOWN + 3} bad bar(s): ")
    assert message.endswith(" (and 3 more)")
    assert message.count("volume is negative") == MAX_PROBLEMS_SHOWN
    assert START.isoformat() in message
