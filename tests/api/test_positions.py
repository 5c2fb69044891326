"""The positions API: open strategy positions with the last price from the smallest stored bar
size, unrealized P&L, and visibility by the accounts a user owns or is a member of."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.factories import StrategyFactory, StrategyPositionFactory, SymbolFactory, make_bars

pytestmark = pytest.mark.django_db


def hold(strategy: Strategy, side: str, quantity: str, price: str) -> None:
    """An open position of ``strategy`` on ``side`` (LONG/SHORT) of ``quantity`` at ``price``."""
    StrategyPositionFactory.create(
        strategy=strategy,
        side=side,
        quantity=Decimal(quantity),
        average_cost=Decimal(price),
        entry_quantity=Decimal(quantity),
        entry_price=Decimal(price),
    )


@pytest.fixture
def traded(trader: User) -> Symbol:
    """A symbol the trader's strategy trades: long 10 at 100; daily bars closing at 110 and,
    later, hourly bars closing at 112 (the smaller bar size wins)."""
    symbol = SymbolFactory.create(symbol="AAA")
    strategy = StrategyFactory.create(symbol=symbol, owner=trader)
    make_bars(symbol, [105.0, 110.0])
    make_bars(
        symbol,
        [111.0, 112.0],
        start=datetime(2019, 12, 31, tzinfo=UTC),
        bar_size="1 hour",
        step=timedelta(hours=1),
    )
    hold(strategy, "LONG", "10", "100")
    return symbol


@pytest.fixture
def elsewhere() -> Symbol:
    """A symbol traded on the operator's account only: short 5 at 50, no bars."""
    symbol = SymbolFactory.create(symbol="ZZZ")
    hold(StrategyFactory.create(symbol=symbol), "SHORT", "5", "50")
    return symbol


def test_position_has_last_price_and_unrealized_pnl(api: APIClient, traded: Symbol) -> None:
    response = api.get("/api/v1/positions/")
    assert response.status_code == 200
    [row] = results(response)
    assert row["symbol"] == "AAA" and row["symbol_id"] == traded.pk
    assert Decimal(row["quantity"]) == 10 and Decimal(row["average_cost"]) == 100
    # the hourly bars are older than the last daily bar, but the smallest bar size wins
    assert Decimal(row["last_price"]) == Decimal("112")
    assert row["last_price_at"] == "2019-12-31T01:00:00Z"
    assert Decimal(row["unrealized_pnl"]) == Decimal("120")  # (112 − 100) × 10
    assert Decimal(row["realized_pnl"]) == 0 and row["currency"] == "USD"


def test_short_position_without_bars(staff_api: APIClient, elsewhere: Symbol) -> None:
    [row] = results(staff_api.get("/api/v1/positions/"))
    assert Decimal(row["quantity"]) == -5
    assert row["last_price"] is None and row["unrealized_pnl"] is None


def test_short_position_unrealized_pnl_is_signed(staff_api: APIClient, elsewhere: Symbol) -> None:
    make_bars(elsewhere, [45.0])
    [row] = results(staff_api.get("/api/v1/positions/"))
    assert Decimal(row["unrealized_pnl"]) == Decimal("25")  # (45 − 50) × −5


def test_visibility(
    api: APIClient,
    other_api: APIClient,
    staff_api: APIClient,
    anonymous: APIClient,
    traded: Symbol,
    elsewhere: Symbol,
) -> None:
    assert [r["symbol"] for r in results(api.get("/api/v1/positions/"))] == ["AAA"]
    assert results(other_api.get("/api/v1/positions/")) == []
    assert [r["symbol"] for r in results(staff_api.get("/api/v1/positions/"))] == ["AAA", "ZZZ"]
    assert anonymous.get("/api/v1/positions/").status_code == 401
