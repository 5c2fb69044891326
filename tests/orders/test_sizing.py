"""Fixed-fractional position sizing."""

from decimal import Decimal

import pytest

from apps.orders.sizing import SizingResult, size_position

D = Decimal


def size(
    *,
    capital: str = "100000",
    risk_pct: str = "1",
    entry: str = "50",
    stop: str = "48",
    max_position: str = "1000",
    held: str = "0",
    max_notional: str = "1000000",
) -> SizingResult:
    return size_position(
        capital=D(capital),
        risk_per_trade_pct=D(risk_pct),
        entry=D(entry),
        stop=D(stop),
        max_position_quantity=D(max_position),
        current_quantity=D(held),
        max_order_notional=D(max_notional),
    )


def test_quantity_is_the_risk_amount_over_the_per_unit_risk() -> None:
    result = size()
    # 100 000 × 1 % = 1000 at risk; 1000 / |50 − 48| = 500
    # position room 1000 − 0 = 1000; notional room 1 000 000 / 50 = 20 000
    assert result == SizingResult(
        quantity=D(500),
        risk_amount=D(1000),
        by_risk=D(500),
        by_position_limit=D(1000),
        by_notional=D(20000),
    )


def test_quantity_is_floored_to_whole_units() -> None:
    # 1000 / |50 − 47| = 333.33… → 333
    assert size(stop="47").quantity == D(333)


def test_a_short_entry_below_its_stop_sizes_the_same() -> None:
    # |48 − 50| = 2 → 500
    assert size(entry="48", stop="50").by_risk == D(500)


def test_fractional_risk_percentage() -> None:
    # 250 000 × 0.5 % = 1250; 1250 / |101.25 − 98.75| = 1250 / 2.5 = 500
    result = size(capital="250000", risk_pct="0.5", entry="101.25", stop="98.75")
    assert (result.risk_amount, result.quantity) == (D("1250"), D(500))


def test_capped_by_the_room_left_under_the_maximum_position() -> None:
    # by risk 500, but 1000 − 800 held leaves room for 200
    result = size(held="800")
    assert (result.by_risk, result.by_position_limit, result.quantity) == (D(500), D(200), D(200))


def test_capped_by_the_maximum_order_notional() -> None:
    # 10 050 / 50 = 201 units of notional room
    result = size(max_notional="10050")
    assert (result.by_notional, result.quantity) == (D(201), D(201))


def test_notional_cap_floors_to_whole_units() -> None:
    # 10 000 / 30 = 333.33… → 333 (by risk: 1000 / 1 = 1000, position room 1000)
    assert size(entry="30", stop="29", max_notional="10000").quantity == D(333)


def test_risk_too_small_for_one_unit_sizes_to_zero() -> None:
    # 100 × 1 % = 1; 1 / 2 = 0.5 → 0
    assert size(capital="100").quantity == D(0)


def test_a_full_or_over_full_position_sizes_to_zero_not_negative() -> None:
    assert size(held="1000").quantity == D(0)
    result = size(held="1200")
    assert (result.by_position_limit, result.quantity) == (D(0), D(0))


def test_entry_equal_to_stop_raises() -> None:
    with pytest.raises(ValueError, match="differ from the stop"):
        size(entry="50", stop="50")


@pytest.mark.parametrize("entry", ["0", "-5"])
def test_a_non_positive_entry_raises(entry: str) -> None:
    with pytest.raises(ValueError, match="entry must be positive"):
        size(entry=entry, stop="1")
