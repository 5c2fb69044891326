"""reqHistoricalData (msg 20) answered from the shipped CSV bar files as historicalData (msg 17).

The simulator plays the broker and shares nothing with Sibyl's database: each ``Instrument``
names its CSV file per bar size (``Instrument.bar_files``, e.g. ``data/bars/GOOG_1d.csv`` for
``"1 day"``). Files have the columns ``ts,open,high,low,close,volume``; a daily ``ts`` is a date
(the bar opens 00:00 UTC), an intraday ``ts`` is ``YYYY-MM-DD HH:MM:SS`` in UTC. Each file is
read once and cached; prices are Decimals in the instrument's currency, volume in shares/units.

Honoured: the bars of the requested bar size whose open time lies in
``[endDateTime - duration, endDateTime)``; whatToShow and useRTH are ignored.
"""

import bisect
import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devtools.tws_simulator.instruments import ContractRef, Instrument
from devtools.tws_simulator.protocol import Field

REPO_ROOT = Path(__file__).resolve().parents[2]
DURATION_UNITS = {"S": 1, "D": 86400, "W": 7 * 86400, "M": 31 * 86400, "Y": 366 * 86400}
DAILY_OR_LONGER = {"1 day", "1 week", "1 month"}
NO_DATA = "Historical Market Data Service error message:HMDS query returned no data"
PACING = "Historical Market Data Service error message:Historical data request pacing violation"
NO_SECURITY = "No security definition has been found for the request"


class HistoryError(Exception):
    """A request the files cannot answer; ``code`` is the TWS error code to send
    (200 unknown contract, 162 no data / pacing, 321 malformed request)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CsvBar:
    """One bar of a shipped file: ``ts`` is the aware UTC open time, ``daily`` says the CSV
    held a date (then ``ts`` is that date at 00:00 UTC). Prices in the instrument's currency."""

    ts: datetime
    daily: bool
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@cache
def load_bars(relative_path: str) -> tuple[CsvBar, ...]:
    """All bars of one CSV file (path relative to the repository root), sorted by ``ts``.
    Read once per process (cached). Raises ``OSError`` if the file is missing and
    ``ValueError`` for a malformed row."""
    bars: list[CsvBar] = []
    with (REPO_ROOT / relative_path).open(newline="") as handle:
        for row in csv.DictReader(handle):
            text = row["ts"].strip()
            daily = len(text) == 10
            moment = datetime.strptime(text, "%Y-%m-%d" if daily else "%Y-%m-%d %H:%M:%S")
            bars.append(
                CsvBar(
                    ts=moment.replace(tzinfo=UTC),
                    daily=daily,
                    open=Decimal(row["open"]),
                    high=Decimal(row["high"]),
                    low=Decimal(row["low"]),
                    close=Decimal(row["close"]),
                    volume=Decimal(row["volume"] or "0"),
                )
            )
    bars.sort(key=lambda bar: bar.ts)
    return tuple(bars)


def last_close(instrument: Instrument) -> Decimal | None:
    """The close of the last bar of the instrument's first bar file (its default market
    price, in the instrument's currency); ``None`` if it has no file or the file is empty."""
    for path in instrument.bar_files.values():
        bars = load_bars(path)
        return bars[-1].close if bars else None
    return None


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
        useRTH, whatToShow, formatDate, …]`` (no version field; ``client.reqHistoricalData``).
        Raises ``ValueError``/``IndexError`` for a malformed message."""
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
    """Bars for one request plus the requested window (aware UTC datetimes)."""

    bars: list[CsvBar]
    start: datetime
    end: datetime


def parse_end(text: str, now: datetime | None = None) -> datetime:
    """An IB endDateTime -> aware UTC datetime. Accepts ``""`` (now), ``yyyymmdd``,
    ``yyyymmdd hh:mm:ss [zone]`` and ``yyyymmdd-hh:mm:ss`` (UTC); no zone means UTC.
    Raises ``HistoryError`` 321 for an unknown zone, ``ValueError`` for other bad text."""
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
    """An IB durationStr (``"30 D"``, ``"1 Y"``, …) -> timedelta (months 31 d, years 366 d).
    Raises ``HistoryError`` 321 for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*([SDWMY])\s*", text.upper())
    if not match:
        raise HistoryError(321, f"invalid duration {text!r}")
    return timedelta(seconds=int(match[1]) * DURATION_UNITS[match[2]])


def load_history(request: HistoryRequest, now: datetime | None = None) -> History:
    """The requested bars from the instrument's CSV file for ``request.bar_size``.
    Raises ``HistoryError`` 200 for an unknown contract, 162 when no bars match (also for a
    bar size without a file), 321 for a bad endDateTime/duration."""
    end = parse_end(request.end, now)
    start = end - parse_duration(request.duration)
    found = request.contract.lookup()
    if not found:
        raise HistoryError(200, NO_SECURITY)
    path = found[0].bar_files.get(request.bar_size)
    bars = load_bars(path) if path else ()
    stamps = [bar.ts for bar in bars]
    selected = list(bars[bisect.bisect_left(stamps, start) : bisect.bisect_left(stamps, end)])
    if not selected:
        raise HistoryError(162, NO_DATA)
    return History(bars=selected, start=start, end=end)


def format_bar_date(bar: CsvBar, bar_size: str, format_date: int) -> str:
    """A bar's date as TWS sends it: ``yyyymmdd`` (the CSV session date, no time-zone shift)
    for daily and longer bars; intraday: epoch seconds with formatDate 2, else
    ``yyyymmdd hh:mm:ss UTC`` (``util.parseIBDatetime`` reads both)."""
    if bar_size in DAILY_OR_LONGER or bar.daily:
        return bar.ts.strftime("%Y%m%d")
    if format_date == 2:
        return str(int(bar.ts.timestamp()))
    return bar.ts.strftime("%Y%m%d %H:%M:%S UTC")


def historical_data_fields(request: HistoryRequest, history: History) -> list[Field]:
    """historicalData (msg 17) per ``decoder.historicalData``: ``reqId, start, end, n,
    (date, o, h, l, c, volume, wap, barCount)×n`` — no version field at server version 157."""
    fields: list[Field] = [
        17,
        request.req_id,
        history.start.strftime("%Y%m%d %H:%M:%S UTC"),
        history.end.strftime("%Y%m%d %H:%M:%S UTC"),
        len(history.bars),
    ]
    for bar in history.bars:
        wap = ((bar.high + bar.low + bar.close) / 3).quantize(Decimal("0.00000001"))
        date = format_bar_date(bar, request.bar_size, request.format_date)
        fields += [date, bar.open, bar.high, bar.low, bar.close, bar.volume, wap, 0]
    return fields
