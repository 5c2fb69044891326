"""Shared helpers of the performance tests: a small scenario with hand-computed figures.

Symbol A (USD, timezone UTC) has daily closes 100, 110, 90, 105 on 2012-06-01..04, and on
06-04 two 1-minute bars closing 104 then 106 (the smallest size: 06-04 closes at 106).
The strategy (capital 10,000) held:

- P1 LONG 10 from 06-01 at 100, closed 06-03 at 120: realized 10 × 20 − 2 = 198 net of its
  2 commission, initial risk 100, so 1.98 R, a win;
- P2 SHORT 5 opened 06-02 at 110 with 1 commission: average cost (550 − 1) / 5 = 109.8,
  still open.

Equity (capital + realized to the day + unrealized at the day's close):
06-01 10,000 (P1 at its entry price) · 06-02 10,000 + 10 × (110 − 100) − 5 × (110 − 109.8) =
10,099 · 06-03 10,000 + 198 − 5 × (90 − 109.8) = 10,297 · 06-04 10,198 − 5 × (106 − 109.8) =
10,217; drawdowns 0, 0, 0, 80; the maximum 80 = 80 / 10,297 = 0.0078 of the peak.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.contrib.auth.models import User

from apps.analysis.models import PromptTemplate
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import BarFactory, StrategyFactory, StrategyPositionFactory, SymbolFactory

D = Decimal


def day(n: int, hour: int = 0, minute: int = 0) -> datetime:
    """2012-06-``n`` at ``hour``:``minute`` UTC."""
    return datetime(2012, 6, n, hour, minute, tzinfo=UTC)


@dataclass
class Scenario:
    """The module docstring's symbol, strategy and positions."""

    symbol: Symbol
    strategy: Strategy
    p1: StrategyPosition
    p2: StrategyPosition


def scenario(
    owner: User | None = None,
    template: PromptTemplate | None = None,
    model: str = "",
) -> Scenario:
    """Build the module docstring's scenario for a strategy of ``owner``; P1 was opened by
    ``template`` and ``model``, P2 by neither."""
    symbol = SymbolFactory.create(symbol="AAA", currency="USD", timezone="UTC")
    for n, close in [(1, "100"), (2, "110"), (3, "90"), (4, "105")]:
        BarFactory.create(symbol=symbol, ts=day(n), close=D(close), high=D(close), low=D(close))
    for minute, close in [(0, "104"), (1, "106")]:
        BarFactory.create(
            symbol=symbol, bar_size="1 min", ts=day(4, 15, minute), close=D(close), high=D(close),
            low=D(close), open=D(close),
        )  # fmt: skip
    strategy = StrategyFactory.create(owner=owner, symbol=symbol, capital=D("10000"))
    p1 = StrategyPositionFactory.create(
        strategy=strategy,
        side="LONG",
        status="closed",
        quantity=D(0),
        average_cost=D(0),
        entry_quantity=D(10),
        entry_price=D(100),
        exit_quantity=D(10),
        exit_price=D(120),
        realized_pnl=D(198),
        commission=D(2),
        initial_risk=D(100),
        r_multiple=D("1.98"),
        outcome="win",
        opened_at=day(1),
        closed_at=day(3, 14),
        prompt_template=template,
        llm_model=model,
    )
    p2 = StrategyPositionFactory.create(
        strategy=strategy,
        side="SHORT",
        quantity=D(5),
        average_cost=D("109.8"),
        entry_quantity=D(5),
        entry_price=D(110),
        commission=D(1),
        opened_at=day(2),
    )
    return Scenario(symbol, strategy, p1, p2)
