"""P&L attribution per strategy, account and prompt version, with daily equity curves marked
from the bar store; the figures are the hand-computed ones of tests/composition/helpers.py."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from apps.composition.performance import (
    account_performance,
    prompt_performance,
    strategy_performance,
)
from apps.positions.performance import MaxDrawdown
from apps.strategies.models import Strategy
from apps.trading.models import Account
from tests.composition.helpers import day, scenario
from tests.factories import (
    AccountFactory,
    BarFactory,
    PromptTemplateFactory,
    StrategyFactory,
    StrategyPositionFactory,
    SymbolFactory,
)

pytestmark = pytest.mark.django_db
D = Decimal


def curve(performance: Any) -> list[tuple[date, Decimal, Decimal]]:
    return [(p.day, p.equity, p.drawdown) for p in performance.equity]


def test_strategy_performance_checked_by_hand(django_assert_num_queries: Any) -> None:
    s = scenario()
    strategy = Strategy.objects.get(pk=s.strategy.pk)
    # symbol, positions, bars from the first open day, the last bar before it
    with django_assert_num_queries(4):
        (usd,) = strategy_performance(strategy)
    assert usd.currency == "USD"
    assert (usd.realized_pnl, usd.commission) == (D(198), D(3))
    assert usd.unrealized_pnl == D(19)  # −5 × (106 − 109.8), at the 1-minute close of 06-04
    assert (usd.open_positions, usd.unpriced_positions) == (1, 0)
    stats = usd.stats
    assert (stats.trades, stats.wins, stats.win_rate, stats.average_r) == (1, 1, D(1), D("1.98"))
    assert usd.starting_equity == D(10000)
    assert curve(usd) == [
        (date(2012, 6, 1), D(10000), D(0)),
        (date(2012, 6, 2), D(10099), D(0)),
        (date(2012, 6, 3), D(10297), D(0)),
        (date(2012, 6, 4), D(10217), D(80)),
    ]
    assert usd.max_drawdown == MaxDrawdown(D(80), D("0.0078"))


def test_the_bar_queries_do_not_grow_with_positions_or_symbols(
    django_assert_num_queries: Any,
) -> None:
    s = scenario()
    for n in range(3):
        other = SymbolFactory.create(currency="USD", timezone="UTC")
        BarFactory.create(symbol=other, ts=day(2))
        StrategyPositionFactory.create(strategy=s.strategy, symbol=other, opened_at=day(1 + n))
    strategy = Strategy.objects.get(pk=s.strategy.pk)
    with django_assert_num_queries(4):
        (usd,) = strategy_performance(strategy)
    assert usd.open_positions == 4


def test_account_performance_keeps_currencies_apart() -> None:
    account = AccountFactory.create(cash={"USD": D(50000), "EUR": D(20000)})
    s = scenario()
    s.strategy.positions.update(account=account)
    # a EUR position on another strategy of the account, on a symbol without bars
    eur = StrategyFactory.create(account=account, symbol=SymbolFactory.create(currency="EUR"))
    StrategyPositionFactory.create(
        strategy=eur, quantity=D(3), average_cost=D(50), commission=D("1.5"), opened_at=day(2)
    )
    # another account's position is not counted
    StrategyPositionFactory.create(realized_pnl=D(1000))

    eur_perf, usd_perf = account_performance(Account.objects.get(pk=account.pk))

    assert (eur_perf.currency, usd_perf.currency) == ("EUR", "USD")
    assert (usd_perf.realized_pnl, usd_perf.unrealized_pnl) == (D(198), D(19))
    assert [e for _, e, _ in curve(usd_perf)] == [D(50000), D(50099), D(50297), D(50217)]
    assert usd_perf.max_drawdown == MaxDrawdown(D(80), D("0.0016"))  # 80 / 50,297
    # no bar: not marked, so unrealized 0 and flagged; the curve is its open day at cash
    assert (eur_perf.unrealized_pnl, eur_perf.unpriced_positions) == (D(0), 1)
    assert (eur_perf.realized_pnl, eur_perf.commission) == (D(0), D("1.5"))
    assert curve(eur_perf) == [(date(2012, 6, 2), D(20000), D(0))]
    assert eur_perf.stats.trades == 0 and eur_perf.stats.win_rate is None


def test_a_day_without_bars_keeps_the_last_close_and_an_older_bar_gives_the_first_mark() -> None:
    symbol = SymbolFactory.create(currency="USD", timezone="UTC")
    BarFactory.create(symbol=symbol, ts=day(1) - (day(2) - day(1)) * 10, close=D(90))  # 05-22
    BarFactory.create(symbol=symbol, ts=day(4), close=D(120))
    strategy = StrategyFactory.create(symbol=symbol, capital=D(1000))
    StrategyPositionFactory.create(strategy=strategy, quantity=D(2), average_cost=D(100),
                                   opened_at=day(2))  # fmt: skip
    (usd,) = strategy_performance(strategy)
    # 06-02, 06-03 marked at 90 (2 × −10), 06-04 at 120 (2 × 20)
    assert [e for _, e, _ in curve(usd)] == [D(980), D(980), D(1040)]
    assert usd.unrealized_pnl == D(40)


def test_no_positions_no_figures() -> None:
    assert strategy_performance(StrategyFactory.create()) == []


def test_prompt_performance_per_version_model_and_currency(
    django_assert_num_queries: Any,
) -> None:
    template = PromptTemplateFactory.create(name="swing", version=3)
    s = scenario(template=template, model="gpt-test")
    StrategyPositionFactory.create(realized_pnl=D(7))  # another strategy: not asked for

    with django_assert_num_queries(3):
        rows = prompt_performance(Strategy.objects.filter(pk=s.strategy.pk))

    untracked, swing = rows
    assert (untracked.template_id, untracked.llm_model) == (None, "")
    assert (swing.template_id, swing.template_name, swing.template_version) == (
        template.pk, "swing", 3,
    )  # fmt: skip
    assert swing.llm_model == "gpt-test"
    # P1 alone: from 0, 0 → 100 → 198 → 198 (closed 06-03; the curve runs to the last bar)
    assert (swing.performance.realized_pnl, swing.performance.stats.average_r) == (
        D(198), D("1.98"),
    )  # fmt: skip
    assert [e for _, e, _ in curve(swing.performance)] == [D(0), D(100), D(198), D(198)]
    # P2 alone: opened 06-02; −1, +99, +19
    assert untracked.performance.unrealized_pnl == D(19)
    assert [e for _, e, _ in curve(untracked.performance)] == [D(-1), D(99), D(19)]
    assert untracked.performance.max_drawdown == MaxDrawdown(D(80), D("0.8081"))  # 80 / 99


def test_a_same_day_trade_is_never_marked_and_partial_exits_are_booked_on_the_last_day() -> None:
    symbol = SymbolFactory.create(currency="USD", timezone="UTC")
    for n, close in [(1, "100"), (2, "150"), (3, "100")]:
        BarFactory.create(symbol=symbol, ts=day(n), close=D(close))
    strategy = StrategyFactory.create(symbol=symbol, capital=D(0))
    # bought and sold on 06-02 for +5: booked that day, never open at a close
    StrategyPositionFactory.create(
        strategy=strategy, status="closed", quantity=D(0), average_cost=D(0),
        realized_pnl=D(5), outcome="win", opened_at=day(2, 14), closed_at=day(2, 15),
    )  # fmt: skip
    # 4 left of a LONG bought at 100 on 06-01 with +7 realized by a partial exit
    StrategyPositionFactory.create(
        strategy=strategy, quantity=D(4), average_cost=D(100), realized_pnl=D(7),
        opened_at=day(1),
    )  # fmt: skip
    (usd,) = strategy_performance(strategy)
    # 06-01 4 × 0; 06-02 5 + 4 × 50; 06-03 5 + 7 + 4 × 0
    assert [e for _, e, _ in curve(usd)] == [D(0), D(205), D(12)]
    assert (usd.realized_pnl, usd.unrealized_pnl, usd.stats.trades) == (D(12), D(0), 1)
    assert usd.max_drawdown == MaxDrawdown(D(193), D("0.9415"))  # 193 / 205
