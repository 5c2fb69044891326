"""The real ib_async client against the simulator over a loopback socket."""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from ib_async import IB, Forex, Stock

from apps.marketdata.models import Bar
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_connect_reports_paper_account_and_time(ib: IB) -> None:
    assert ib.isConnected()
    assert ib.client.serverVersion() == 157
    assert ib.managedAccounts() == ["DU123456"]
    now = ib.reqCurrentTime()
    assert isinstance(now, datetime)
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def test_startup_sync_leaves_no_positions_or_orders(ib: IB) -> None:
    assert ib.positions() == []
    assert ib.openTrades() == []
    assert ib.reqExecutions() == []
    assert {v.tag for v in ib.accountValues()} >= {"NetLiquidation", "TotalCashValue"}


def test_qualify_fills_conids(ib: IB) -> None:
    goog = Stock("GOOG", "SMART", "USD")
    eur = Forex("EURUSD")
    ib.qualifyContracts(goog, eur)
    assert goog.conId == 208813720
    assert goog.primaryExchange == "NASDAQ"
    assert eur.conId == 12087792
    [details] = ib.reqContractDetails(Stock("GOOG", "SMART", "USD"))
    assert details.minTick == 0.01


def test_unknown_symbol_is_error_200(ib: IB, caplog: pytest.LogCaptureFixture) -> None:
    assert ib.qualifyContracts(Stock("NOSUCH", "SMART", "USD")) == [None]
    assert any("Error 200" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_matching_symbols(ib: IB) -> None:
    found = ib.reqMatchingSymbols("GOO")
    contracts = [d.contract for d in found if d.contract]
    assert [(c.symbol, c.conId) for c in contracts] == [("GOOG", 208813720)]
    assert ib.reqMatchingSymbols("ZZZ") == []


def _expected(symbol: Symbol, bar_size: str, start: datetime, end: datetime) -> list[Bar]:
    return list(
        Bar.objects.filter(symbol=symbol, bar_size=bar_size, ts__gte=start, ts__lt=end).order_by(
            "ts"
        )
    )


def test_daily_history_equals_stored_bars(ib: IB, goog: Symbol) -> None:
    end = datetime(2013, 3, 1, 23, 59, 59, tzinfo=UTC)
    bars = ib.reqHistoricalData(
        Stock("GOOG", "SMART", "USD"), end, "1 Y", "1 day", "TRADES", True, formatDate=1
    )
    stored = _expected(goog, "1 day", end - timedelta(days=366), end)
    assert len(stored) > 240
    tz = ZoneInfo(goog.timezone)
    assert [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (
            s.ts.astimezone(tz).date(),
            *(float(v) for v in (s.open, s.high, s.low, s.close, s.volume)),
        )
        for s in stored
    ]


def test_history_for_unstored_bar_size_is_empty(ib: IB, goog: Symbol) -> None:
    end = datetime(2013, 3, 1, tzinfo=UTC)
    bars = ib.reqHistoricalData(Stock("GOOG", "SMART", "USD"), end, "1 D", "1 hour", "TRADES", True)
    assert list(bars) == []


def test_intraday_history_in_epoch_seconds(ib: IB) -> None:
    eur = SymbolFactory.create(symbol="EUR", sec_type="CASH", currency="USD", timezone="UTC")
    first = datetime(2024, 1, 2, 10, tzinfo=UTC)
    for hour in range(3):
        price = Decimal("1.1") + Decimal(hour) / 100
        Bar.objects.create(
            symbol=eur,
            bar_size="1 hour",
            ts=first + timedelta(hours=hour),
            open=price,
            high=price + Decimal("0.005"),
            low=price - Decimal("0.005"),
            close=price,
            volume=0,
        )
    bars = ib.reqHistoricalData(
        Forex("EURUSD"), "20240102 12:30:00 UTC", "1 D", "1 hour", "MIDPOINT", False, formatDate=2
    )
    assert [b.date for b in bars] == [first + timedelta(hours=h) for h in range(3)]
    assert [b.close for b in bars] == [1.1, 1.11, 1.12]
