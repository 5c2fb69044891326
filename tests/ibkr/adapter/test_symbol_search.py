"""Symbol search against the TWS simulator: matches become Symbol rows, contract details are
cached for 7 days, and ``manage.py search_symbols`` prints them."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.symbol_search import (
    SymbolSearchError,
    iana_timezone,
    symbol_refresh,
    symbols_search,
    symbols_search_hits,
)
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory

pytestmark = pytest.mark.django_db(transaction=True)

GOOG_CONID = 208813720
NOW = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
def details_requests(connection: IbkrConnection, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The contracts of every reqContractDetailsAsync made on the connection's IB."""
    calls: list[Any] = []
    original: Callable[..., Any] = connection.ib.reqContractDetailsAsync

    def spy(contract: Any) -> Any:
        calls.append(contract)
        return original(contract)

    monkeypatch.setattr(connection.ib, "reqContractDetailsAsync", spy)
    return calls


def test_search_creates_the_symbol_from_contract_details(details_requests: list[Any]) -> None:
    found = symbols_search(query="GOO", now=NOW)
    assert [s.symbol for s in found] == ["GOOG"]
    goog = Symbol.objects.get(conid=GOOG_CONID)
    assert (goog.symbol, goog.sec_type, goog.currency) == ("GOOG", "STK", "USD")
    assert goog.exchange == "SMART" and goog.primary_exchange == "NASDAQ"
    assert goog.min_tick == Decimal("0.01")
    assert goog.timezone == "America/New_York"
    assert goog.description == "ALPHABET INC-CL C"
    assert goog.fetched_at == NOW
    assert [c.conId for c in details_requests] == [GOOG_CONID]


def test_second_search_within_7_days_uses_the_cache(details_requests: list[Any]) -> None:
    symbols_search(query="GOO", now=NOW)
    hits = symbols_search_hits(query="GOO", now=NOW + timedelta(days=6, hours=23))
    assert [(h.symbol.symbol, h.from_cache) for h in hits] == [("GOOG", True)]
    assert len(details_requests) == 1
    assert Symbol.objects.get(conid=GOOG_CONID).fetched_at == NOW


def test_search_after_8_days_refreshes(details_requests: list[Any]) -> None:
    symbols_search(query="GOO", now=NOW)
    Symbol.objects.filter(conid=GOOG_CONID).update(description="stale")
    later = NOW + timedelta(days=8)
    hits = symbols_search_hits(query="GOO", now=later)
    assert [h.from_cache for h in hits] == [False]
    assert len(details_requests) == 2
    goog = Symbol.objects.get(conid=GOOG_CONID)
    assert goog.fetched_at == later and goog.description == "ALPHABET INC-CL C"
    assert Symbol.objects.filter(symbol="GOOG").count() == 1


def test_existing_row_without_conid_gets_it(details_requests: list[Any]) -> None:
    hand_made = SymbolFactory.create(symbol="GOOG", conid=None, timezone="UTC", description="")
    symbols_search(query="GOOG", now=NOW)
    hand_made.refresh_from_db()
    assert hand_made.conid == GOOG_CONID
    assert hand_made.timezone == "America/New_York"
    assert Symbol.objects.filter(symbol="GOOG").count() == 1


def test_forex_match_is_stored_on_idealpro(details_requests: list[Any]) -> None:
    found = symbols_search(query="EUR", now=NOW)
    eur = next(s for s in found if s.sec_type == "CASH")
    assert (eur.symbol, eur.currency, eur.exchange) == ("EUR", "USD", "IDEALPRO")
    assert eur.min_tick == Decimal("0.00005")


def test_no_match_gives_no_symbol(details_requests: list[Any]) -> None:
    assert symbols_search(query="ZZZZ", now=NOW) == []
    assert details_requests == []


def test_symbol_refresh_updates_one_symbol(details_requests: list[Any]) -> None:
    goog = SymbolFactory.create(symbol="GOOG", conid=None, min_tick=Decimal("1"))
    refreshed = symbol_refresh(symbol=goog, now=NOW)
    assert refreshed.conid == GOOG_CONID and refreshed.min_tick == Decimal("0.01")
    assert Symbol.objects.get(pk=goog.pk).fetched_at == NOW
    nope = SymbolFactory.create(symbol="NOPE", conid=None)
    with pytest.raises(SymbolSearchError, match="0 contracts"):
        symbol_refresh(symbol=nope, now=NOW)


def test_command_prints_the_table_and_the_cache_source(connection: IbkrConnection) -> None:
    out = StringIO()
    call_command("search_symbols", "GOO", stdout=out)
    first = out.getvalue()
    lines = first.splitlines()
    for column in ("conid", "symbol", "type", "exchange", "currency", "description", "fetched_at"):
        assert column in lines[0]
    assert "208813720" in lines[1] and "GOOG" in lines[1] and "ALPHABET INC-CL C" in lines[1]
    assert lines[1].rstrip().endswith("IBKR")
    assert "0 from the cache" in first
    out = StringIO()
    call_command("search_symbols", "GOO", stdout=out)
    second = out.getvalue()
    assert second.splitlines()[1].rstrip().endswith("cache")
    assert "1 from the cache" in second
    out = StringIO()
    call_command("search_symbols", "GOO", "--refresh", stdout=out)
    assert "0 from the cache" in out.getvalue()


@pytest.mark.parametrize(
    ("tws", "iana"),
    [
        ("US/Eastern", "America/New_York"),
        ("Europe/Zurich", "Europe/Zurich"),
        ("EST (Eastern Standard Time)", "America/New_York"),
        ("Not/AZone", "UTC"),
    ],
)
def test_tws_time_zones_become_iana_names(tws: str, iana: str) -> None:
    assert iana_timezone(tws) == iana
