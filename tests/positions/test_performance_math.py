"""Performance arithmetic (no database): trade statistics and drawdown, checked by hand."""

from decimal import Decimal

from apps.positions.performance import (
    ClosedTrade,
    MaxDrawdown,
    drawdowns,
    max_drawdown,
    trade_stats,
)

D = Decimal


def trade(realized: str, commission: str, r: str | None, outcome: str) -> ClosedTrade:
    return ClosedTrade(D(realized), D(commission), D(r) if r is not None else None, outcome)


def test_trade_stats_count_wins_and_average_r_over_known_risks() -> None:
    stats = trade_stats(
        [
            trade("200", "2", "2", "win"),
            trade("-100", "2", "-1", "loss"),
            trade("0", "2", None, "breakeven"),  # no stop: counts, but has no R
            trade("50", "1", "0.5", "win"),
        ]
    )
    assert (stats.trades, stats.wins, stats.losses, stats.breakevens) == (4, 2, 1, 1)
    assert stats.win_rate == D("0.5")  # 2 ÷ 4
    assert stats.average_r == D("0.5")  # (2 − 1 + 0.5) ÷ 3
    assert stats.r_trades == 3
    assert (stats.realized, stats.commission) == (D(150), D(7))


def test_trade_stats_without_trades_have_no_ratios() -> None:
    stats = trade_stats([])
    assert (stats.trades, stats.win_rate, stats.average_r) == (0, None, None)
    assert (stats.realized, stats.commission) == (D(0), D(0))


def test_average_r_is_rounded_to_four_places() -> None:
    stats = trade_stats([trade("1", "0", "1", "win")] * 2 + [trade("0", "0", "0", "breakeven")])
    assert stats.average_r == D("0.6667")  # 2 ÷ 3
    assert stats.win_rate == D("0.6667")


def test_drawdown_is_the_running_peak_minus_equity() -> None:
    equity = [D(100), D(120), D(90), D(130), D(117), D(125)]
    assert drawdowns(equity) == [D(0), D(0), D(30), D(0), D(13), D(5)]


def test_max_drawdown_in_money_and_as_a_fraction_of_the_peak() -> None:
    # peak 120 → trough 90: 30 (25 %); peak 130 → 117: 13 (10 %)
    equity = [D(100), D(120), D(90), D(130), D(117)]
    assert max_drawdown(equity) == MaxDrawdown(amount=D(30), fraction=D("0.25"))


def test_the_largest_fraction_may_come_from_a_smaller_decline() -> None:
    # 10 → 5 loses 5 (50 %); 1000 → 900 loses 100 (10 %)
    equity = [D(10), D(5), D(1000), D(900)]
    assert max_drawdown(equity) == MaxDrawdown(amount=D(100), fraction=D("0.5"))


def test_a_pnl_curve_from_zero_has_no_fraction_until_its_peak_is_positive() -> None:
    assert max_drawdown([D(0), D(-10), D(-5)]) == MaxDrawdown(amount=D(10), fraction=None)
    # 0 → −10 loses 10 (no fraction of a zero peak); later peak 20 → 15: 5, 25 %
    assert max_drawdown([D(0), D(-10), D(20), D(15)]) == MaxDrawdown(D(10), D("0.25"))


def test_a_rising_or_empty_series_has_no_drawdown() -> None:
    assert max_drawdown([D(1), D(2), D(3)]) == MaxDrawdown(D(0), D(0))
    assert max_drawdown([]) == MaxDrawdown(D(0), None)
