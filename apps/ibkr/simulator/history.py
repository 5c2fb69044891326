"""reqHistoricalData (msg 20) answered from Sibyl's Bar store as historicalData (msg 17).

``load_history`` is synchronous Django ORM code: call it from a worker thread, never from
the simulator's event loop. Honoured roughly: the bars of the requested bar size whose open
time lies in ``[endDateTime - duration, endDateTime)``; whatToShow and useRTH are ignored.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection

from apps.ibkr.simulator.instruments import ContractRef
from apps.ibkr.simulator.protocol import Field
from apps.marketdata.models import Bar
from apps.symbols.models import Symbol

DURATION_UNITS = {"S": 1, "D": 86400, "W": 7 * 86400, "M": 31 * 86400, "Y": 366 * 86400}
DAILY_OR_LONGER = {"1 day", "1 week", "1 month"}


class HistoryError(Exception):
    """A request the store cannot answer; ``code`` is the TWS error code to send."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HistoryRequest:
    """The parts of a reqHistoricalData message the simulator uses."""

    req_id: int
    contract: ContractRef
    end: str
    bar_size: str
    duration: str
    format_date: int

    @classmethod
    def from_fields(cls, fields: list[str]) -> "HistoryRequest":
        """Parse ``[20, reqId, contract×12, includeExpired, endDateTime, barSize, duration,
        useRTH, whatToShow, formatDate, …]`` (no version field)."""
        return cls(
            req_id=int(fields[1]),
            contract=ContractRef.from_fields(fields, 2),
            end=fields[15],
            bar_size=fields[16],
            duration=fields[17],
            format_date=int(fields[20] or 1),
        )


@dataclass(frozen=True)
class History:
    """Bars for one request plus the window and the symbol's time zone."""

    bars: list[Bar]
    start: datetime
    end: datetime
    timezone: str


def parse_end(text: str, now: datetime | None = None) -> datetime:
    """An IB endDateTime -> aware UTC datetime. Accepts ``""`` (now), ``yyyymmdd``,
    ``yyyymmdd hh:mm:ss [zone]`` and ``yyyymmdd-hh:mm:ss`` (UTC); no zone means UTC."""
    text = text.strip()
    if not text:
        return now or datetime.now(UTC)
    if len(text) == 8 and text.isdigit():
        return datetime.strptime(text, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=UTC)
    stamp, _, zone = text.replace("-", " ", 1).partition(" ")
    clock, _, zone = zone.strip().partition(" ")
    moment = datetime.strptime(stamp + clock, "%Y%m%d%H:%M:%S")
    try:
        tz = ZoneInfo(zone.strip()) if zone.strip() else UTC
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HistoryError(321, f"unknown time zone in endDateTime {text!r}") from error
    return moment.replace(tzinfo=tz).astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """An IB durationStr (``"30 D"``, ``"1 Y"``, …) -> timedelta (months 31 d, years 366 d)."""
    match = re.fullmatch(r"\s*(\d+)\s*([SDWMY])\s*", text.upper())
    if not match:
        raise HistoryError(321, f"invalid duration {text!r}")
    return timedelta(seconds=int(match[1]) * DURATION_UNITS[match[2]])


def _find_symbol(contract: ContractRef) -> Symbol | None:
    names = [i.symbol for i in contract.lookup()] or [contract.symbol]
    symbols = Symbol.objects.filter(symbol__in=[n.upper() for n in names if n])
    if contract.con_id:
        by_conid = Symbol.objects.filter(conid=contract.con_id).first()
        if by_conid:
            return by_conid
    if contract.currency:
        symbols = symbols.filter(currency=contract.currency.upper())
    if contract.sec_type:
        symbols = symbols.filter(sec_type=contract.sec_type)
    return symbols.first()


def load_history(request: HistoryRequest, now: datetime | None = None) -> History:
    """Read the requested bars from the store (sync ORM; closes this thread's connection).
    Raises HistoryError 200 for an unknown contract, 162 when no bars match."""
    try:
        end = parse_end(request.end, now)
        start = end - parse_duration(request.duration)
        symbol = _find_symbol(request.contract)
        if symbol is None:
            raise HistoryError(200, "No security definition has been found for the request")
        bars = list(
            Bar.objects.filter(
                symbol=symbol, bar_size=request.bar_size, ts__gte=start, ts__lt=end
            ).order_by("ts")
        )
        if not bars:
            raise HistoryError(
                162, "Historical Market Data Service error message:HMDS query returned no data"
            )
        return History(bars=bars, start=start, end=end, timezone=symbol.timezone)
    finally:
        connection.close()


def format_bar_date(ts: datetime, bar_size: str, format_date: int, timezone: str) -> str:
    """A bar's date as TWS sends it: ``yyyymmdd`` (exchange-local) for daily and longer bars;
    epoch seconds for intraday with formatDate 2, else ``yyyymmdd hh:mm:ss zone``."""
    local = ts.astimezone(ZoneInfo(timezone))
    if bar_size in DAILY_OR_LONGER:
        return local.strftime("%Y%m%d")
    if format_date == 2:
        return str(int(ts.timestamp()))
    return local.strftime("%Y%m%d %H:%M:%S ") + timezone


def historical_data_fields(request: HistoryRequest, history: History) -> list[Field]:
    """historicalData (msg 17): ``reqId, start, end, n, (date, o, h, l, c, volume, wap,
    barCount)×n`` — no version field at server version 157."""
    fields: list[Field] = [
        17,
        request.req_id,
        history.start.strftime("%Y%m%d %H:%M:%S UTC"),
        history.end.strftime("%Y%m%d %H:%M:%S UTC"),
        len(history.bars),
    ]
    for bar in history.bars:
        wap = ((bar.high + bar.low + bar.close) / 3).quantize(Decimal("0.00000001"))
        date = format_bar_date(bar.ts, request.bar_size, request.format_date, history.timezone)
        fields += [date, bar.open, bar.high, bar.low, bar.close, bar.volume, wap, 0]
    return fields
