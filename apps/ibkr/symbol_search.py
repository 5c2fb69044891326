"""Symbol search against IBKR, with the Symbol table as a 7-day cache of contract details.

Sources: TWS API ``reqMatchingSymbols`` (symbolSamples: conId, symbol, secType,
primaryExchange, currency) and ``reqContractDetails`` (ContractDetails: longName, minTick,
timeZoneId, …), as ib_async 2.1 exposes them (``reqMatchingSymbolsAsync``,
``reqContractDetailsAsync``). Sibyl routes stocks through SMART and forex through IDEALPRO.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from ib_async import IB, Contract, ContractDescription, ContractDetails

from apps.common.errors import SibylError
from apps.ibkr.gateway import ibkr_connection
from apps.ibkr.mapping import contract_for
from apps.symbols.models import Symbol

logger = logging.getLogger(__name__)

CACHE_MAX_AGE = timedelta(days=7)
# TWS's legacy time-zone ids -> IANA names (TWS sends e.g. "US/Eastern" for NASDAQ stocks).
TWS_TIMEZONES = {
    "US/Eastern": "America/New_York",
    "EST": "America/New_York",
    "EST5EDT": "America/New_York",
    "US/Central": "America/Chicago",
    "CST": "America/Chicago",
    "CST6CDT": "America/Chicago",
    "US/Mountain": "America/Denver",
    "MST": "America/Denver",
    "US/Pacific": "America/Los_Angeles",
    "PST": "America/Los_Angeles",
    "GB-Eire": "Europe/London",
    "GB": "Europe/London",
    "GMT": "Europe/London",
    "MET": "Europe/Berlin",
    "CET": "Europe/Berlin",
    "Japan": "Asia/Tokyo",
    "JST": "Asia/Tokyo",
    "Hongkong": "Asia/Hong_Kong",
    "HKT": "Asia/Hong_Kong",
    "Singapore": "Asia/Singapore",
    "Australia/NSW": "Australia/Sydney",
    "Australia/ACT": "Australia/Sydney",
}
EXCHANGE_FOR_TYPE = {"STK": "SMART", "CASH": "IDEALPRO"}


class SymbolSearchError(SibylError):
    """IBKR did not answer a symbol search, or a symbol's contract cannot be found."""


@dataclass(frozen=True)
class SearchHit:
    """One search result: the Symbol row and whether it came from the cache (fetched less
    than 7 days before the search) rather than a fresh contract-details request."""

    symbol: Symbol
    from_cache: bool


def iana_timezone(tws_zone: str) -> str:
    """An IANA time-zone name for TWS's ``timeZoneId``: legacy ids are mapped (``US/Eastern``
    -> ``America/New_York``), IANA names kept; anything zoneinfo does not know gives ``UTC``
    (logged). Older TWS versions append a description (``"EST (Eastern Standard Time)"``):
    only the first word is used."""
    name = tws_zone.strip().split(" ")[0] if tws_zone.strip() else ""
    name = TWS_TIMEZONES.get(name, name)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown TWS time zone %r; using UTC", tws_zone)
        return "UTC"
    return name


def _fields(details: ContractDetails, now: datetime) -> dict[str, Any]:
    contract = details.contract
    assert contract is not None
    exchange = EXCHANGE_FOR_TYPE.get(contract.secType) or contract.exchange or "SMART"
    return {
        "symbol": contract.symbol,
        "sec_type": contract.secType,
        "exchange": exchange,
        "primary_exchange": contract.primaryExchange or "",
        "currency": contract.currency,
        "description": details.longName[:255],
        "timezone": iana_timezone(details.timeZoneId),
        "min_tick": Decimal(str(details.minTick)),
        "fetched_at": now,
    }


def _store(details: ContractDetails, now: datetime) -> Symbol | None:
    """Create or update the Symbol of ``details`` (by conId, else the conId-less row of the
    same listing). Returns None when the listing belongs to a row with another conId."""
    contract = details.contract
    assert contract is not None
    values = _fields(details, now)
    with transaction.atomic():
        row = Symbol.objects.select_for_update().filter(conid=contract.conId).first()
        if row is None:
            row = (
                Symbol.objects.select_for_update()
                .filter(
                    symbol=values["symbol"],
                    sec_type=values["sec_type"],
                    currency=values["currency"],
                )
                .first()
            )
            if row is not None and row.conid not in (None, contract.conId):
                logger.warning(
                    "IBKR conId %s is %s %s %s, which Sibyl has as conId %s; not stored",
                    contract.conId,
                    values["symbol"],
                    values["sec_type"],
                    values["currency"],
                    row.conid,
                )
                return None
        if row is None:
            row = Symbol(conid=contract.conId)
        row.conid = contract.conId
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        return row


def _is_fresh(row: Symbol | None, now: datetime) -> bool:
    return bool(row and row.fetched_at and now - row.fetched_at < CACHE_MAX_AGE)


def symbols_search_hits(
    *, query: str, now: datetime | None = None, refresh: bool = False
) -> list[SearchHit]:
    """Search IBKR for ``query`` (a ticker or name prefix) and return a hit per match, in
    IBKR's order, each with its Symbol row created or refreshed from contract details unless
    the row was fetched less than 7 days before ``now`` (tz-aware UTC, default: the current
    time) and ``refresh`` is false.

    Raises SymbolSearchError when IBKR does not answer the search, IbkrConnectionError when
    TWS is unreachable. A match whose details TWS does not send (error 200) is left out.
    """
    now = now or datetime.now(UTC)
    connection = ibkr_connection()

    async def matching(ib: IB) -> list[ContractDescription] | None:
        return await ib.reqMatchingSymbolsAsync(query)

    descriptions = connection.call(matching)
    if descriptions is None:
        raise SymbolSearchError(f"IBKR did not answer the symbol search for {query!r}")
    con_ids = [d.contract.conId for d in descriptions if d.contract and d.contract.conId]
    con_ids = list(dict.fromkeys(con_ids))
    cached = {row.conid: row for row in Symbol.objects.filter(conid__in=con_ids)}
    stale = [c for c in con_ids if refresh or not _is_fresh(cached.get(c), now)]

    async def details_of(ib: IB) -> list[list[ContractDetails]]:
        requests = [ib.reqContractDetailsAsync(Contract(conId=c)) for c in stale]
        return list(await asyncio.gather(*requests))

    fetched = dict(zip(stale, connection.call(details_of), strict=True)) if stale else {}
    hits: list[SearchHit] = []
    for con_id in con_ids:
        if con_id not in fetched:
            hits.append(SearchHit(cached[con_id], from_cache=True))
            continue
        details = [d for d in fetched[con_id] if d.contract and d.contract.conId == con_id]
        if not details:
            logger.warning("IBKR sent no contract details for conId %s", con_id)
            continue
        row = _store(details[0], now)
        if row is not None:
            hits.append(SearchHit(row, from_cache=False))
    return hits


def symbols_search(*, query: str, now: datetime | None = None) -> list[Symbol]:
    """The Symbols matching ``query`` on IBKR (see ``symbols_search_hits``: contract details
    cached for 7 days, ``now`` tz-aware UTC). Raises SymbolSearchError, IbkrConnectionError."""
    return [hit.symbol for hit in symbols_search_hits(query=query, now=now)]


def symbol_refresh(*, symbol: Symbol, now: datetime | None = None) -> Symbol:
    """Fetch ``symbol``'s contract details from IBKR (by conId, or by its listing when it has
    none) and update the row (conId, exchange, description, time zone, min tick, fetched_at =
    ``now``, tz-aware UTC). Returns the updated row.

    Raises SymbolSearchError when TWS finds no contract, several, or the conId belongs to
    another row; IbkrConnectionError when TWS is unreachable.
    """
    now = now or datetime.now(UTC)
    contract = contract_for(symbol)

    async def details_of(ib: IB) -> list[ContractDetails]:
        return await ib.reqContractDetailsAsync(contract)

    details = ibkr_connection().call(details_of)
    if len(details) != 1 or details[0].contract is None:
        raise SymbolSearchError(
            f"IBKR has {len(details)} contracts for {symbol} on {contract.exchange};"
            " expected exactly one"
        )
    conid = details[0].contract.conId
    if symbol.conid is None and Symbol.objects.filter(conid=conid).exclude(pk=symbol.pk).exists():
        raise SymbolSearchError(f"conId {conid} of {symbol} already belongs to another symbol")
    with transaction.atomic():
        symbol.conid = conid
        for name, value in _fields(details[0], now).items():
            setattr(symbol, name, value)
        symbol.save()
    return symbol
