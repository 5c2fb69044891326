"""Symbols API: the shared instrument cache, and refresh / search against IBKR — the real
ib_async client talking to the TWS simulator on loopback."""

import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.ibkr.gateway import ibkr_connection_close
from apps.symbols.models import Symbol
from devtools.tws_simulator import SimulatorHandle, running_simulator
from tests.api.conftest import results
from tests.factories import SymbolFactory

LIST = "/api/v1/symbols/"
GOOG_CONID = 208813720


def detail(symbol: Symbol, suffix: str = "") -> str:
    return f"{LIST}{symbol.pk}/{suffix}"


def _ibkr_settings(settings: Any, host: str, port: int) -> None:
    settings.BROKER = "ibkr"
    settings.IBKR_HOST = host
    settings.IBKR_PORT = port
    settings.IBKR_CLIENT_ID = 31
    settings.IBKR_READONLY = False
    settings.IBKR_CONNECT_TIMEOUT_S = 3.0
    settings.IBKR_REQUEST_TIMEOUT_S = 3.0
    settings.IBKR_RECONNECT_MAX_S = 0.5


@pytest.fixture
def ibkr(settings: Any) -> Iterator[SimulatorHandle]:
    """``BROKER=ibkr`` pointed at a TWS simulator; the process-wide connection is closed
    before and after, so it is made with these settings and does not outlive the test."""
    with running_simulator() as simulator:
        _ibkr_settings(settings, simulator.host, simulator.port)
        ibkr_connection_close()
        yield simulator
        ibkr_connection_close()


@pytest.fixture
def ibkr_down(settings: Any) -> Iterator[None]:
    """``BROKER=ibkr`` pointed at a loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _ibkr_settings(settings, "127.0.0.1", port)
    ibkr_connection_close()
    yield
    ibkr_connection_close()


# --- the cache -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("get", LIST + "{id}/"),
        ("post", LIST + "{id}/refresh/"),
        ("get", LIST + "ibkr-search/?q=GOO"),
    ],
)
def test_anonymous_gets_401(anonymous: APIClient, method: str, url: str) -> None:
    symbol = SymbolFactory.create()
    assert getattr(anonymous, method)(url.format(id=symbol.pk)).status_code == 401


@pytest.mark.django_db
def test_any_user_lists_searches_and_filters_the_cache(
    api: APIClient, other_api: APIClient
) -> None:
    SymbolFactory.create(symbol="GOOG", description="ALPHABET INC-CL C")
    SymbolFactory.create(symbol="GOOGL", description="ALPHABET INC-CL A", exchange="NASDAQ")
    SymbolFactory.create(symbol="EUR", sec_type="CASH", currency="USD", description="Euro")
    SymbolFactory.create(symbol="VOD", currency="GBP", description="Vodafone")

    def tickers(client: APIClient, query: str = "") -> list[str]:
        return [row["symbol"] for row in results(client.get(f"{LIST}?{query}"))]

    assert tickers(other_api) == ["EUR", "GOOG", "GOOGL", "VOD"]
    assert tickers(api, "search=goog") == ["GOOG", "GOOGL"]
    assert tickers(api, "search=alphabet inc-cl a") == ["GOOGL"]
    assert tickers(api, "sec_type=CASH") == ["EUR"]
    assert tickers(api, "currency=GBP") == ["VOD"]
    assert tickers(api, "exchange=NASDAQ") == ["GOOGL"]
    page = api.get(f"{LIST}?page_size=3&page=2").json()
    assert page["count"] == 4 and [row["symbol"] for row in page["results"]] == ["VOD"]
    assert api.get(f"{LIST}?sec_type=BOND").status_code == 400


@pytest.mark.django_db
def test_retrieve_one_symbol(api: APIClient) -> None:
    symbol = SymbolFactory.create(symbol="GOOG", min_tick=Decimal("0.01"), conid=GOOG_CONID)
    body = api.get(detail(symbol)).json()
    assert (body["id"], body["symbol"], body["conid"]) == (symbol.pk, "GOOG", GOOG_CONID)
    assert body["min_tick"] == "0.0100000000" and body["fetched_at"] is None
    assert api.get(f"{LIST}999999/").status_code == 404


@pytest.mark.django_db
def test_the_cache_is_read_only(api: APIClient, staff_api: APIClient) -> None:
    symbol = SymbolFactory.create(symbol="GOOG")
    assert api.post(LIST, {"symbol": "MSFT"}, format="json").status_code == 405
    assert staff_api.patch(detail(symbol), {"symbol": "X"}, format="json").status_code == 405
    assert staff_api.delete(detail(symbol)).status_code == 405
    assert Symbol.objects.get().symbol == "GOOG"


# --- IBKR ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_and_search_need_broker_ibkr(api: APIClient, settings: Any) -> None:
    settings.BROKER = "paper"
    symbol = SymbolFactory.create(symbol="GOOG")
    response = api.post(detail(symbol, "refresh/"))
    assert response.status_code == 409
    assert response.json() == {"detail": "symbol refresh needs BROKER=ibkr"}
    response = api.get(f"{LIST}ibkr-search/?q=GOO")
    assert response.status_code == 409
    assert response.json() == {"detail": "symbol search needs BROKER=ibkr"}
    assert Symbol.objects.get().fetched_at is None


@pytest.mark.django_db(transaction=True)
def test_refresh_fetches_contract_details_from_ibkr(api: APIClient, ibkr: SimulatorHandle) -> None:
    # given GOOG declared by hand, without a conId
    symbol = SymbolFactory.create(symbol="GOOG", timezone="UTC", description="")
    # when a user refreshes it
    response = api.post(detail(symbol, "refresh/"))
    # then TWS's contract details are stored and returned
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["conid"], body["primary_exchange"]) == (GOOG_CONID, "NASDAQ")
    assert (body["description"], body["timezone"]) == ("ALPHABET INC-CL C", "America/New_York")
    assert body["fetched_at"] is not None
    symbol.refresh_from_db()
    assert symbol.conid == GOOG_CONID and symbol.timezone == "America/New_York"


@pytest.mark.django_db(transaction=True)
def test_refresh_of_a_contract_ibkr_does_not_know_is_a_400(
    api: APIClient, ibkr: SimulatorHandle
) -> None:
    symbol = SymbolFactory.create(symbol="NOSUCH")
    response = api.post(detail(symbol, "refresh/"))
    assert response.status_code == 400
    assert response.json()["code"] == "SymbolSearchError"
    assert "IBKR has 0 contracts for NOSUCH" in response.json()["detail"]


@pytest.mark.django_db(transaction=True)
def test_ibkr_search_stores_and_returns_matches(api: APIClient, ibkr: SimulatorHandle) -> None:
    response = api.get(f"{LIST}ibkr-search/?q=GOO")
    assert response.status_code == 200, response.json()
    [goog] = response.json()
    assert (goog["symbol"], goog["sec_type"], goog["conid"]) == ("GOOG", "STK", GOOG_CONID)
    assert goog["id"] == Symbol.objects.get(conid=GOOG_CONID).pk
    assert api.get(f"{LIST}ibkr-search/").json() == {"q": ["This field is required."]}


@pytest.mark.django_db(transaction=True)
def test_ibkr_unreachable_is_a_503(api: APIClient, ibkr_down: None) -> None:
    symbol = SymbolFactory.create(symbol="GOOG")
    for response in (api.post(detail(symbol, "refresh/")), api.get(f"{LIST}ibkr-search/?q=G")):
        assert response.status_code == 503
        assert "cannot connect to TWS/IB Gateway" in response.json()["detail"]
    assert Symbol.objects.get().fetched_at is None
