"""The signal rules in ``apps.signals.checks`` on their own: prices stay Decimals on the tick
grid, shown in the form check details have always used."""

from decimal import Decimal

import pytest

from apps.analysis.decision import Decision
from apps.common.decimals import round_to_tick, to_decimal
from apps.signals.checks import MAX_PRICE, on_tick, out_of_range_check


def _decision(entry: float | None, stop: float | None, target: float | None) -> Decision:
    return Decision(
        action="BUY",
        confidence=0.71234,
        entry=entry,
        stop_loss=stop,
        take_profit=target,
        horizon="5 bars",
        reasoning="test",
    )


@pytest.mark.parametrize(
    ("price", "tick"),
    [
        (101.237, "0.01"),
        (101.237, "0.01000000"),
        (100.0, "0.01000000"),
        (100.004, "0.25"),
        (0.00001234, "0.00000001"),
        (0.0000001, "0.00000001"),
        (123456789012.0, "1"),
        (99999.99999, "0.0001"),
    ],
)
def test_ticked_prices_are_decimals_shown_as_before(price: float, tick: str) -> None:
    """A ticked price is a Decimal whose text is what the old float round trip gave."""
    ticked = on_tick(_decision(price, price, price), Decimal(tick))
    old = to_decimal(float(round_to_tick(to_decimal(price), Decimal(tick))))
    assert isinstance(ticked.entry, Decimal)
    assert ticked.entry == old
    assert str(ticked.entry) == str(old)


def test_prices_beyond_max_price_become_none_and_fail_range() -> None:
    decision = _decision(float(MAX_PRICE), 90.0, None)
    ticked = on_tick(decision, Decimal("0.01"))
    assert (ticked.entry, ticked.stop_loss, ticked.take_profit) == (None, Decimal("90.0"), None)
    assert ticked.confidence == 0.712
    check = out_of_range_check(decision)
    assert check is not None and not check.passed
    assert check.detail == "entry 1000000000000.0 beyond 1e+12"
    assert out_of_range_check(_decision(100.0, 90.0, 120.0)) is None
