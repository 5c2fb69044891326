"""Import OHLCV bars from a CSV file into the Bar store, all or nothing."""

import csv
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models, transaction

from apps.common.errors import SibylError
from apps.marketdata.bar_checks import OhlcvRow, validate_bars
from apps.marketdata.bar_sizes import validate_bar_size
from apps.marketdata.models import Bar
from apps.symbols.models import Symbol

TIME_COLUMNS = ("ts", "date", "datetime", "time", "timestamp")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


class CsvImportError(SibylError):
    """The CSV file is malformed: missing columns, unparsable values or unsound bars."""


def _parse_ts(text: str, tz: tzinfo) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def _time_column(fieldnames: list[str]) -> str:
    for name in TIME_COLUMNS:
        if name in fieldnames:
            return name
    raise CsvImportError(f"no time column: expected one of {', '.join(TIME_COLUMNS)}")


def _column_limit(name: str) -> Decimal:
    """The bound a value of Bar column ``name`` must stay below, from its max_digits."""
    column = Bar._meta.get_field(name)
    assert isinstance(column, models.DecimalField)
    return Decimal(10) ** (column.max_digits - column.decimal_places)


def _parse_row(row: dict[str, str], time_column: str, tz: tzinfo, line: int) -> OhlcvRow:
    try:
        values = [Decimal(row[name].strip()) for name in PRICE_COLUMNS]
        parsed = OhlcvRow(_parse_ts(row[time_column], tz), *values)
    except (InvalidOperation, ValueError, AttributeError, TypeError) as error:
        raise CsvImportError(f"line {line}: cannot parse {row!r}: {error}") from error
    for name, value in zip(PRICE_COLUMNS, values, strict=True):
        # Non-finite values are left to validate_bars, which names them.
        if value.is_finite() and abs(value) >= _column_limit(name):
            raise CsvImportError(f"line {line}: {name} {value} is too large to store")
    return parsed


def read_bars_csv(path: Path, *, source_timezone: str = "UTC") -> list[OhlcvRow]:
    """Read and validate every bar of a CSV file.

    Input: columns ``ts`` (or date/datetime/time/timestamp; ISO 8601, naive values are taken in
    ``source_timezone``), open, high, low, close, volume. Output: bars sorted as in the file,
    ``ts`` in UTC. Raises CsvImportError for a missing or undecodable file, a missing column, an
    unknown ``source_timezone``, an unparsable value, a value too large for its Bar column, or
    bars that fail ``validate_bars`` (then nothing is imported).
    """
    try:
        tz = ZoneInfo(source_timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CsvImportError(f"unknown timezone {source_timezone!r}") from error
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark before "ts".
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None:
                raise CsvImportError(f"{path} is empty")
            fieldnames = [name.strip().lower() for name in reader.fieldnames]
            missing = [name for name in PRICE_COLUMNS if name not in fieldnames]
            if missing:
                raise CsvImportError(f"missing column(s): {', '.join(missing)}")
            time_column = _time_column(fieldnames)
            reader.fieldnames = fieldnames
            rows = [_parse_row(row, time_column, tz, n) for n, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CsvImportError(f"cannot read {path}: {error}") from error
    if not rows:
        raise CsvImportError(f"{path} holds no bars")
    try:
        validate_bars(rows)
    except SibylError as error:
        raise CsvImportError(str(error)) from error
    return rows


def bars_store(*, symbol: Symbol, bar_size: str, rows: list[OhlcvRow]) -> int:
    """Write bars for ``symbol``/``bar_size``, replacing any stored bar with the same ``ts``.

    Returns the number of rows written. One transaction: all bars or none.
    """
    validate_bar_size(bar_size)
    bars = [
        Bar(
            symbol=symbol,
            bar_size=bar_size,
            ts=row.ts,
            open=row.open,
            high=row.high,
            low=row.low,
            close=row.close,
            volume=row.volume,
        )
        for row in rows
    ]
    with transaction.atomic():
        Bar.objects.bulk_create(
            bars,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["symbol", "bar_size", "ts"],
            update_fields=["open", "high", "low", "close", "volume"],
        )
    return len(bars)


def bars_import_csv(
    *, path: Path, symbol: Symbol, bar_size: str, source_timezone: str = "UTC"
) -> int:
    """Import a CSV file of bars (see ``read_bars_csv``); returns how many bars were written.

    Raises CsvImportError before writing anything when any row is bad.
    """
    validate_bar_size(bar_size)
    return bars_store(
        symbol=symbol,
        bar_size=bar_size,
        rows=read_bars_csv(path, source_timezone=source_timezone),
    )
