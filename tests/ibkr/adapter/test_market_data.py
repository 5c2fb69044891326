"""IbkrProvider against the TWS simulator (real ib_async over loopback, real PostgreSQL): bars
fetched into the store, only the missing ones fetched later, pacing violations waited out."""

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Count

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.market_data import (
    IbkrProvider,
    IbkrUnknownContractError,
    duration_str,
    lookback_span,
)
from apps.ibkr.pacing import PacingLimiter
from apps.marketdata.models import Bar
from apps.marketdata.providers import EmbeddedProvider, provider_for
from apps.marketdata.series import BarSeries
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory, SymbolFactory

pytestmark = pytest.mark.django_db(transaction=True)

BARS_DIR = Path(settings.BASE_DIR) / "data" / "bars"
GOOG_CONID = 208813720
EURUSD_CONID = 12087792
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


def csv_bars(name: str, *, before: datetime, count: int) -> list[tuple[Any, ...]]:
    """The last ``count`` bars of a shipped CSV file that opened before ``before``."""
    rows = []
    with (BARS_DIR / name).open(newline="") as handle:
        for row in csv.DictReader(handle):
            ts = datetime.fromisoformat(row["ts"]).replace(tzinfo=UTC)
            if ts < before:
                prices = [Decimal(row[k]) for k in ("open", "high", "low", "close", "volume")]
                rows.append((ts, *prices))
    return rows[-count:]


def series_rows(bars: BarSeries) -> list[tuple[Any, ...]]:
    return [
        (ts, *(Decimal(str(float(getattr(bars, k)[i]))) for k in ("open", "high", "low", "close")))
        for i, ts in enumerate(bars.ts)
    ]


def expected_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [(row[0], *(Decimal(str(float(v))) for v in row[1:5])) for row in rows]


def assert_no_duplicates(symbol: Symbol) -> None:
    counts = Bar.objects.filter(symbol=symbol).values("bar_size", "ts").annotate(n=Count("id"))
    assert all(entry["n"] == 1 for entry in counts)
    distinct = Bar.objects.filter(symbol=symbol).values("ts").distinct().count()
    assert Bar.objects.filter(symbol=symbol).count() == distinct


@pytest.fixture
def provider() -> IbkrProvider:
    """A provider with a limiter of its own, so no other test's requests delay it."""
    return IbkrProvider(limiter=PacingLimiter())


@pytest.fixture
def goog(connection: IbkrConnection) -> Symbol:
    return SymbolFactory.create(symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ")


@pytest.fixture
def eurusd(connection: IbkrConnection) -> Symbol:
    return SymbolFactory.create(
        symbol="EUR",
        sec_type="CASH",
        exchange="IDEALPRO",
        currency="USD",
        conid=EURUSD_CONID,
        timezone="America/New_York",
        min_tick=Decimal("0.00005"),
    )


def spy_history_requests(
    connection: IbkrConnection, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """Record the arguments of every reqHistoricalDataAsync on the connection's IB."""
    calls: list[dict[str, Any]] = []
    original: Callable[..., Any] = connection.ib.reqHistoricalDataAsync

    async def spy(contract: Any, **kwargs: Any) -> Any:
        calls.append({"contract": contract, **kwargs})
        return await original(contract, **kwargs)

    monkeypatch.setattr(connection.ib, "reqHistoricalDataAsync", spy)
    return calls


def test_goog_bars_are_fetched_stored_and_equal_the_csv(
    goog: Symbol, provider: IbkrProvider, connection: IbkrConnection, monkeypatch: Any
) -> None:
    calls = spy_history_requests(connection, monkeypatch)
    # given GOOG with its conid and no stored bars
    assert not Bar.objects.filter(symbol=goog).exists()
    # when a run as of 2012-06-01 asks for 200 daily bars
    bars = provider.get_bars(symbol=goog, bar_size="1 day", as_of=AS_OF, count=200, min_count=50)
    # then the whole lookback window was requested once, as TRADES in regular hours
    info = provider.last_request
    assert info is not None and info.mode == "full"
    assert info.duration == duration_str(lookback_span(count=200, bar_size="1 day", sec_type="STK"))
    assert info.duration.endswith(" D") and info.attempts == 1
    assert len(calls) == 1
    assert calls[0]["whatToShow"] == "TRADES" and calls[0]["useRTH"] is True
    assert calls[0]["formatDate"] == 2 and calls[0]["endDateTime"] == AS_OF
    assert calls[0]["contract"].conId == GOOG_CONID
    # the bars are stored and returned exactly as the CSV has them, the last one 2012-05-31
    expected = csv_bars("GOOG_1d.csv", before=AS_OF, count=200)
    assert len(bars) == 200
    assert series_rows(bars) == expected_rows(expected)
    assert bars.ts[-1] == datetime(2012, 5, 31, tzinfo=UTC)
    assert bars.last_close == Decimal("580.86")
    stored = Bar.objects.filter(symbol=goog, bar_size="1 day")
    assert info.stored == stored.count() == info.received >= 200
    last = stored.get(ts=datetime(2012, 5, 31, tzinfo=UTC))
    assert (last.open, last.high, last.low, last.close, last.volume) == tuple(expected[-1][1:])
    # and the embedded store now gives the same series (same validation and cut)
    again = EmbeddedProvider().get_bars(
        symbol=goog, bar_size="1 day", as_of=AS_OF, count=200, min_count=50
    )
    assert again.ts == bars.ts


def test_a_later_run_requests_only_the_missing_bars(
    goog: Symbol, provider: IbkrProvider, connection: IbkrConnection, monkeypatch: Any
) -> None:
    provider.get_bars(symbol=goog, bar_size="1 day", as_of=AS_OF, count=200, min_count=50)
    before = Bar.objects.filter(symbol=goog).count()
    calls = spy_history_requests(connection, monkeypatch)
    # when a run a week later asks again
    later = datetime(2012, 6, 8, tzinfo=UTC)
    bars = provider.get_bars(symbol=goog, bar_size="1 day", as_of=later, count=200, min_count=50)
    # then only the days after the latest stored bar (2012-05-31) were requested
    info = provider.last_request
    assert info is not None and info.mode == "incremental"
    assert info.after == "2012-05-31T00:00:00+00:00"
    assert info.duration == "8 D" and calls[0]["durationStr"] == "8 D"
    # TWS sends 05-31 (whole days) .. 06-07; kept and stored: 06-01, 06-04 .. 06-07
    # (06-08 has not closed at 00:00 UTC of 06-08)
    assert info.received == 6 and info.kept == 5 and info.stored == 5
    assert Bar.objects.filter(symbol=goog).count() == before + 5
    assert bars.ts[-1] == datetime(2012, 6, 7, tzinfo=UTC)
    assert series_rows(bars) == expected_rows(csv_bars("GOOG_1d.csv", before=later, count=200))
    assert_no_duplicates(goog)
    # and a third run at the same time needs no request at all
    provider.get_bars(symbol=goog, bar_size="1 day", as_of=later, count=200, min_count=50)
    assert provider.last_request is not None and provider.last_request.mode == "none"
    assert len(calls) == 1


def test_overlapping_requests_store_no_duplicate(
    goog: Symbol, provider: IbkrProvider, settings: Any
) -> None:
    # two full-window fetches (the second after deleting a few old bars) overlap entirely
    provider.get_bars(symbol=goog, bar_size="1 day", as_of=AS_OF, count=200, min_count=50)
    oldest = Bar.objects.filter(symbol=goog).order_by("ts").values_list("pk", flat=True)[:30]
    Bar.objects.filter(pk__in=list(oldest)).delete()
    later = datetime(2012, 6, 2, tzinfo=UTC)  # not identical: no 15 s pacing wait
    provider.get_bars(symbol=goog, bar_size="1 day", as_of=later, count=200, min_count=50)
    info = provider.last_request
    assert info is not None and info.mode == "full"
    assert info.stored == 31  # the 30 deleted ones and 2012-06-01
    assert_no_duplicates(goog)


def test_eurusd_hourly_bars_are_midpoint_outside_regular_hours(
    eurusd: Symbol, provider: IbkrProvider, connection: IbkrConnection, monkeypatch: Any
) -> None:
    calls = spy_history_requests(connection, monkeypatch)
    as_of = datetime(2017, 5, 1, 12, 0, tzinfo=UTC)
    bars = provider.get_bars(symbol=eurusd, bar_size="1 hour", as_of=as_of, count=100, min_count=50)
    assert calls[0]["whatToShow"] == "MIDPOINT" and calls[0]["useRTH"] is False
    assert calls[0]["barSizeSetting"] == "1 hour"
    assert calls[0]["contract"].exchange == "IDEALPRO"
    info = provider.last_request
    assert info is not None and info.what_to_show == "MIDPOINT"
    # intraday times arrive as epoch seconds and are stored as UTC open times
    assert bars.ts[-1] == datetime(2017, 5, 1, 11, 0, tzinfo=UTC)
    assert series_rows(bars) == expected_rows(csv_bars("EURUSD_1h.csv", before=as_of, count=100))
    assert bars.last_close == Decimal("1.09055")


def test_pacing_violation_is_waited_out_and_retried(
    goog: Symbol, provider: IbkrProvider, simulator: Any, settings: Any
) -> None:
    settings.IBKR_PACING_RETRY_S = 0.05
    simulator.pacing_violation_next(1)
    bars = provider.get_bars(symbol=goog, bar_size="1 day", as_of=AS_OF, count=200, min_count=50)
    assert len(bars) == 200
    info = provider.last_request
    assert info is not None and info.attempts == 2
    assert len(info.errors) == 1
    assert "IBKR error 162" in info.errors[0] and "pacing violation" in info.errors[0]
    assert 0.0 < info.waited_s <= 0.05  # the back-off, counted from the violation


def test_unknown_contract_is_a_clear_error(
    connection: IbkrConnection, provider: IbkrProvider
) -> None:
    nope = SymbolFactory.create(symbol="NOPE", conid=999999)
    with pytest.raises(IbkrUnknownContractError, match="IBKR error 200") as raised:
        provider.get_bars(symbol=nope, bar_size="1 day", as_of=AS_OF, count=200, min_count=50)
    assert raised.value.code == 200
    assert not Bar.objects.exists()


def test_symbol_without_conid_is_qualified_and_the_conid_stored(
    connection: IbkrConnection, provider: IbkrProvider
) -> None:
    goog = SymbolFactory.create(symbol="GOOG", conid=None)
    bars = provider.get_bars(symbol=goog, bar_size="1 day", as_of=AS_OF, count=60, min_count=50)
    assert len(bars) == 60
    goog.refresh_from_db()
    assert goog.conid == GOOG_CONID
    # a listing IBKR does not know cannot be qualified
    nope = SymbolFactory.create(symbol="NOPE", conid=None)
    with pytest.raises(IbkrUnknownContractError, match="no unique contract"):
        provider.get_bars(symbol=nope, bar_size="1 day", as_of=AS_OF, count=60, min_count=50)


def test_provider_for_follows_the_broker_setting(ibkr_settings: Any) -> None:
    assert isinstance(provider_for(), IbkrProvider)
    ibkr_settings.BROKER = "paper"
    assert isinstance(provider_for(), EmbeddedProvider)


def test_data_step_uses_ibkr_and_records_the_request(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog, lookback=200)
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    output = run.steps.get(name="data").output
    assert output["provider"] == "ibkr"
    assert output["count"] == 200 and output["last_close"] == "580.86000000"
    assert output["request"]["mode"] == "full"
    assert output["request"]["stored"] == Bar.objects.filter(symbol=goog).count()


def test_data_step_records_the_request_when_it_fails(connection: IbkrConnection) -> None:
    nope = SymbolFactory.create(symbol="NOPE", conid=999999)
    run = strategy_run(strategy=StrategyFactory.create(symbol=nope), as_of=AS_OF, trigger="manual")
    assert run.status == "failed"
    step = run.steps.get(name="data")
    assert step.status == "failed"
    assert "IBKR error 200" in run.error_message
    assert step.output["provider"] == "ibkr" and step.output["request"]["mode"] == "full"
