"""The real ib_async client against the simulator over a loopback socket (no database)."""

import csv
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from ib_async import IB, Forex, Stock

BARS_DIR = Path(__file__).resolve().parents[2] / "data" / "bars"
Row = tuple[str, float, float, float, float, float]


def _csv_rows(name: str) -> list[Row]:
    with (BARS_DIR / name).open(newline="") as handle:
        return [
            (r["ts"], *(float(r[k]) for k in ("open", "high", "low", "close", "volume")))  # type: ignore[misc]
            for r in csv.DictReader(handle)
        ]


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


def test_daily_history_equals_csv(ib: IB) -> None:
    end = datetime(2013, 3, 1, 23, 59, 59, tzinfo=UTC)
    bars = ib.reqHistoricalData(
        Stock("GOOG", "SMART", "USD"), end, "1 Y", "1 day", "TRADES", True, formatDate=1
    )
    start = end - timedelta(days=366)

    def opens(row: Row) -> datetime:
        return datetime.fromisoformat(row[0]).replace(tzinfo=UTC)

    expected = [r for r in _csv_rows("GOOG_1d.csv") if start <= opens(r) < end]
    assert len(expected) > 240
    assert [(b.date, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (date.fromisoformat(r[0]), *r[1:]) for r in expected
    ]


def test_daily_history_window_is_half_open(ib: IB) -> None:
    """A bar opening exactly at endDateTime is excluded; one at end - duration included."""
    bars = ib.reqHistoricalData(
        Stock("GOOG", "SMART", "USD"), "20130301 00:00:00 UTC", "3 D", "1 day", "TRADES", True
    )
    assert [b.date for b in bars] == [date(2013, 2, 26), date(2013, 2, 27), date(2013, 2, 28)]


def test_history_for_missing_bar_size_is_empty(ib: IB) -> None:
    end = datetime(2013, 3, 1, tzinfo=UTC)
    bars = ib.reqHistoricalData(Stock("GOOG", "SMART", "USD"), end, "1 D", "1 hour", "TRADES", True)
    assert list(bars) == []


def test_intraday_history_in_epoch_seconds(ib: IB) -> None:
    bars = ib.reqHistoricalData(
        Forex("EURUSD"), "20170420 12:30:00 UTC", "1 D", "1 hour", "MIDPOINT", False, formatDate=2
    )
    start, end = datetime(2017, 4, 19, 12, 30), datetime(2017, 4, 20, 12, 30)
    expected = [
        r for r in _csv_rows("EURUSD_1h.csv") if start <= datetime.fromisoformat(r[0]) < end
    ]
    assert len(expected) >= 20
    assert [b.date for b in bars] == [
        datetime.fromisoformat(r[0]).replace(tzinfo=UTC) for r in expected
    ]
    assert [b.close for b in bars] == [r[4] for r in expected]


def test_intraday_history_as_text_dates(ib: IB) -> None:
    bars = ib.reqHistoricalData(
        Forex("EURUSD"), "20170419 12:00:00 UTC", "1 D", "1 hour", "MIDPOINT", False, formatDate=1
    )
    assert [b.date for b in bars] == [datetime(2017, 4, 19, h, tzinfo=UTC) for h in (9, 10, 11)]
    assert [b.open for b in bars] == [1.0716, 1.07214, 1.07256]
