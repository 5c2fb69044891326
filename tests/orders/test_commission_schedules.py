"""Commission schedules by security type: per share for stocks, basis points for forex."""

from decimal import Decimal

from apps.orders.paper_broker import fill_config
from apps.symbols.models import Symbol


def test_forex_pays_basis_points_of_value_with_a_minimum() -> None:
    config = fill_config(Symbol(symbol="EUR", sec_type="CASH", min_tick=Decimal("0.00005")))
    # 0.2 bps of 1,173,810 = 23.4762; of 91,185 = 1.82 → the USD 2 minimum
    assert config.commission(Decimal(1_000_000), Decimal("1.17381")) == Decimal("23.4762")
    assert config.commission(Decimal(77_683), Decimal("1.17381")) == Decimal("2.0000")


def test_stocks_pay_per_share_with_minimum_and_cap() -> None:
    config = fill_config(Symbol(symbol="GOOG", sec_type="STK"))
    assert config.commission(Decimal(1000), Decimal("580")) == Decimal("5.0000")
    assert config.commission(Decimal(36), Decimal("580")) == Decimal("1.0000")
    # 1 % of 10,000 × 0.05 = 5.00 caps the 50.00 per-share charge
    assert config.commission(Decimal(10_000), Decimal("0.05")) == Decimal("5.0000")
