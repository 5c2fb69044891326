"""Position accounting: average cost with commissions, realized P&L, flips and shorts."""

from decimal import Decimal

import pytest
from django.db import transaction

from apps.orders.models import Position
from apps.orders.positions import position_apply_fill
from apps.orders.selectors import position_for_symbol
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def symbol() -> Symbol:
    return SymbolFactory.create()


def fill(symbol: Symbol, side: str, quantity: str, price: str, commission: str) -> Decimal:
    with transaction.atomic():
        return position_apply_fill(
            symbol_id=symbol.pk,
            side=side,
            quantity=D(quantity),
            price=D(price),
            commission=D(commission),
        )


def position(symbol: Symbol) -> tuple[Decimal, Decimal, Decimal]:
    row = Position.objects.get(symbol=symbol)
    return row.quantity, row.average_cost, row.realized_pnl


def test_opening_a_long_puts_the_commission_into_the_average_cost(symbol: Symbol) -> None:
    realized = fill(symbol, "BUY", "100", "50", "2")
    # (100 × 50 + 2) / 100 = 50.02
    assert realized == D(0)
    assert position(symbol) == (D(100), D("50.02"), D(0))


def test_adding_to_a_long_averages_cost_including_both_commissions(symbol: Symbol) -> None:
    fill(symbol, "BUY", "100", "50", "2")  # avg 50.02
    realized = fill(symbol, "BUY", "50", "53", "1")
    # (100 × 50.02 + 50 × 53 + 1) / 150 = (5002 + 2650 + 1) / 150 = 7653 / 150 = 51.02
    assert realized == D(0)
    assert position(symbol) == (D(150), D("51.02"), D(0))


def test_average_cost_is_kept_to_eight_places(symbol: Symbol) -> None:
    fill(symbol, "BUY", "3", "10", "1")
    # (30 + 1) / 3 = 10.333333333… → 10.33333333
    assert position(symbol)[1] == D("10.33333333")


def test_partial_close_realizes_pnl_net_of_its_commission(symbol: Symbol) -> None:
    # given a long of 100 at an average cost of 50.02
    fill(symbol, "BUY", "100", "50", "2")

    # when 40 are sold at 55 with a commission of 2
    realized = fill(symbol, "SELL", "40", "55", "2")

    # then (55 − 50.02) × 40 − 2 = 199.20 − 2 = 197.20; 60 remain at the same average cost
    assert realized == D("197.2000")
    assert position(symbol) == (D(60), D("50.02"), D("197.2"))


def test_full_close_resets_the_average_cost_and_accumulates_realized_pnl(symbol: Symbol) -> None:
    # given 100 bought at 50 (+2) and 40 sold at 55 (+2): 60 left at 50.02, 197.20 realized
    fill(symbol, "BUY", "100", "50", "2")
    fill(symbol, "SELL", "40", "55", "2")

    # when the remaining 60 are sold at 48 with a commission of 2
    realized = fill(symbol, "SELL", "60", "48", "2")

    # then (48 − 50.02) × 60 − 2 = −121.20 − 2 = −123.20; total 197.20 − 123.20 = 74.00
    assert realized == D("-123.2000")
    assert position(symbol) == (D(0), D(0), D("74"))


def test_reopening_after_a_full_close_starts_a_fresh_average(symbol: Symbol) -> None:
    fill(symbol, "BUY", "100", "50", "2")
    fill(symbol, "SELL", "100", "50", "2")  # (50 − 50.02) × 100 − 2 = −4
    fill(symbol, "BUY", "10", "80", "1")
    # (0 + 10 × 80 + 1) / 10 = 80.10, untouched by the earlier 50.02
    assert position(symbol) == (D(10), D("80.1"), D("-4"))


def test_a_sell_larger_than_the_long_flips_it_to_a_short(symbol: Symbol) -> None:
    # given a long of 100 at 50.02
    fill(symbol, "BUY", "100", "50", "2")

    # when 150 are sold at 60 with a commission of 3
    realized = fill(symbol, "SELL", "150", "60", "3")

    # then the 100 closed realize (60 − 50.02) × 100 − 3 × 100/150 = 998 − 2 = 996,
    # and the other 50 open a short with the remaining commission 3 × 50/150 = 1
    # reducing its proceeds: (50 × 60 − 1) / 50 = 2999 / 50 = 59.98
    assert realized == D("996.0000")
    assert position(symbol) == (D(-50), D("59.98"), D("996"))


def test_a_buy_larger_than_the_short_flips_it_to_a_long(symbol: Symbol) -> None:
    # given a short of 100 at (100 × 50 − 2) / 100 = 49.98
    fill(symbol, "SELL", "100", "50", "2")

    # when 150 are bought at 40 with a commission of 3
    realized = fill(symbol, "BUY", "150", "40", "3")

    # then (40 − 49.98) × 100 × (−1) − 2 = 998 − 2 = 996,
    # and 50 open long at (50 × 40 + 1) / 50 = 40.02
    assert realized == D("996.0000")
    assert position(symbol) == (D(50), D("40.02"), D("996"))


def test_short_side_accounting(symbol: Symbol) -> None:
    # given: sell 100 at 50 (commission 2) → −100 at (5000 − 2) / 100 = 49.98
    assert fill(symbol, "SELL", "100", "50", "2") == D(0)
    assert position(symbol) == (D(-100), D("49.98"), D(0))

    # add: sell 100 at 48 (2) → (100 × 49.98 + 100 × 48 − 2) / 200 = 9796 / 200 = 48.98
    assert fill(symbol, "SELL", "100", "48", "2") == D(0)
    assert position(symbol) == (D(-200), D("48.98"), D(0))

    # cover 50 at 45 (1): (45 − 48.98) × 50 × (−1) − 1 = 199 − 1 = 198
    assert fill(symbol, "BUY", "50", "45", "1") == D("198.0000")
    assert position(symbol) == (D(-150), D("48.98"), D("198"))

    # cover the last 150 at 50 (1): (50 − 48.98) × 150 × (−1) − 1 = −153 − 1 = −154
    assert fill(symbol, "BUY", "150", "50", "1") == D("-154.0000")
    assert position(symbol) == (D(0), D(0), D("44"))


def test_realized_pnl_is_rounded_to_four_places(symbol: Symbol) -> None:
    fill(symbol, "BUY", "3", "10", "1")  # avg 10.33333333
    realized = fill(symbol, "SELL", "3", "11", "0")
    # (11 − 10.33333333) × 3 = 2.00000001 → 2.0000
    assert realized == D("2.0000")


def test_selector_reports_a_flat_position_for_an_untraded_symbol(symbol: Symbol) -> None:
    assert position_for_symbol(symbol_id=symbol.pk) == {
        "quantity": D(0),
        "average_cost": D(0),
        "realized_pnl": D(0),
    }
    fill(symbol, "BUY", "10", "20", "1")
    assert position_for_symbol(symbol_id=symbol.pk)["average_cost"] == D("20.1")
