"""Import OHLCV bars from a CSV file into the Bar store, all or nothing."""

import csv
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import models, transaction

from apps.common.errors import SibylError
from apps.marketdata.bar_checks import (
    OhlcvRow,
    bars_by_session,
    validate_bars,
    validate_one_bar_per_session,
)
from apps.marketdata.bar_sizes import validate_bar_size
from apps.marketdata.models import Bar
from apps.symbols.calendars import calendar_names, calendar_timezone
from apps.symbols.models import SecType, Symbol

TIME_COLUMNS = ("ts", "date", "datetime", "time", "timestamp")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
# Separators a bar file may use, by name (spreadsheets in many locales write ";").
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
SNIFF_CHARS = 64 * 1024
# Stored bars farther than this from the file's first and last bar cannot share a session,
# week or month with them (a month is at most 31 days; time zones move a stamp by < 1 day).
SESSION_MARGIN = timedelta(days=32)


class CsvImportError(SibylError):
    """The CSV file is malformed: missing columns, unparsable values or unsound bars; or its
    bars would put a second bar in a session that already has one."""


class ImportSymbolError(SibylError):
    """The symbol to import into is ambiguous, or its trading calendar unknown."""


def _parse_ts(text: str, tz: tzinfo) -> datetime:
    moment = datetime.fromisoformat(text)
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


def _separator(sample: str) -> str:
    """The separator of a CSV text sample: csv.Sniffer restricted to ``SEPARATORS``, comma when
    it cannot tell (a one-column file)."""
    # Sniff whole lines only: a cut last line would look inconsistent.
    complete = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(complete, delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        return ","


def _cell(row: dict[str, str | None], name: str, line: int) -> str:
    value = row.get(name)
    if value is None:
        raise CsvImportError(f"line {line}, column {name}: missing (fewer fields than the header)")
    return value.strip()


def _decimal_cell(row: dict[str, str | None], name: str, line: int, separator: str) -> Decimal:
    text = _cell(row, name, line)
    if not text:
        raise CsvImportError(f"line {line}, column {name}: empty, expected a number")
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        hint = " (a decimal comma? write 1.5, not 1,5)" if "," in text and separator != "," else ""
        raise CsvImportError(
            f"line {line}, column {name}: cannot parse {text!r} as a number{hint}"
        ) from error
    # Non-finite values are left to validate_bars, which names them.
    if value.is_finite() and abs(value) >= _column_limit(name):
        raise CsvImportError(f"line {line}: {name} {value} is too large to store")
    return value


def _time_cell(row: dict[str, str | None], name: str, line: int, tz: tzinfo) -> datetime:
    text = _cell(row, name, line)
    if not text:
        raise CsvImportError(f"line {line}, column {name}: empty, expected an ISO 8601 time")
    try:
        return _parse_ts(text, tz)
    except ValueError as error:
        raise CsvImportError(
            f"line {line}, column {name}: cannot parse {text!r} as an ISO 8601 time"
        ) from error


def _parse_row(
    row: dict[str, str | None], time_column: str, tz: tzinfo, line: int, separator: str
) -> OhlcvRow:
    ts = _time_cell(row, time_column, line, tz)
    values = [_decimal_cell(row, name, line, separator) for name in PRICE_COLUMNS]
    return OhlcvRow(ts, *values)


def read_bars_csv(path: Path, *, source_timezone: str = "UTC") -> list[OhlcvRow]:
    """Read and validate every bar of a CSV file.

    Input: a header row and columns separated by comma, semicolon, tab or pipe (detected by
    csv.Sniffer): ``ts`` (or date/datetime/time/timestamp; ISO 8601, naive values are taken in
    ``source_timezone``), open, high, low, close, volume. Output: bars sorted as in the file,
    ``ts`` in UTC. Raises CsvImportError for a missing or undecodable file, a missing column
    (naming the separator used and the columns seen), an unknown ``source_timezone``, an empty
    or unparsable cell (naming the file line, the column and the text), a value too large for
    its Bar column, or bars that fail ``validate_bars`` (then nothing is imported).
    """
    try:
        tz = ZoneInfo(source_timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CsvImportError(f"unknown timezone {source_timezone!r}") from error
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark before "ts".
        with path.open(newline="", encoding="utf-8-sig") as handle:
            separator = _separator(handle.read(SNIFF_CHARS))
            handle.seek(0)
            reader = csv.DictReader(handle, delimiter=separator)
            if reader.fieldnames is None:
                raise CsvImportError(f"{path} is empty")
            fieldnames = [name.strip().lower() for name in reader.fieldnames]
            missing = [name for name in PRICE_COLUMNS if name not in fieldnames]
            if missing:
                raise CsvImportError(
                    f"missing column(s): {', '.join(missing)} (read as {SEPARATORS[separator]}-"
                    f"separated; columns seen: {', '.join(fieldnames)})"
                )
            time_column = _time_column(fieldnames)
            reader.fieldnames = fieldnames
            # line_num: the file line the row ended on (blank lines are skipped, not counted).
            rows = [_parse_row(row, time_column, tz, reader.line_num, separator) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise CsvImportError(f"cannot read {path}: {error}") from error
    if not rows:
        raise CsvImportError(f"{path} holds no bars")
    try:
        validate_bars(rows)
    except SibylError as error:
        raise CsvImportError(str(error)) from error
    return rows


def _session_conflicts(*, symbol: Symbol, bar_size: str, rows: list[OhlcvRow]) -> list[str]:
    """For each bar of ``rows`` whose session (week, month) already holds a stored bar with
    another ``ts``, a sentence naming both times."""
    session_of = {
        "bar_size": bar_size,
        "trading_calendar": symbol.trading_calendar,
        "timezone": symbol.timezone,
    }
    incoming = bars_by_session([row.ts for row in rows], **session_of)
    if not incoming:
        return []
    stored = Bar.objects.filter(
        symbol=symbol,
        bar_size=bar_size,
        ts__gte=min(row.ts for row in rows) - SESSION_MARGIN,
        ts__lte=max(row.ts for row in rows) + SESSION_MARGIN,
    ).values_list("ts", flat=True)
    conflicts: list[str] = []
    for label, existing in bars_by_session(stored, **session_of).items():
        new = incoming.get(label, [])
        for old_ts in existing:
            conflicts.extend(
                f"{label} already has a bar at {old_ts.isoformat()}; the new bar at"
                f" {new_ts.isoformat()} would be a second one"
                for new_ts in new
                if new_ts != old_ts
            )
    return conflicts


def bars_store(*, symbol: Symbol, bar_size: str, rows: list[OhlcvRow]) -> int:
    """Write bars (``rows``, sorted by ``ts``) for ``symbol``/``bar_size``, replacing any stored
    bar with the same ``ts``.

    Daily, weekly and monthly bars stay one per session, week or month (``bar_session``, by
    the symbol's trading calendar, else its timezone): raises CsvImportError, writing nothing,
    when two rows share one, or when a row would add a second bar to a period that already
    has a stored bar at another time (naming both times). A re-import of the same times is an
    update. Returns the number of rows written. One transaction: all bars or none.
    """
    validate_bar_size(bar_size)
    try:
        validate_one_bar_per_session(
            [row.ts for row in rows],
            bar_size=bar_size,
            trading_calendar=symbol.trading_calendar,
            timezone=symbol.timezone,
        )
    except SibylError as error:
        raise CsvImportError(str(error)) from error
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
        # Two imports of one symbol at once would each miss the other's bars in the check.
        Symbol.objects.select_for_update().filter(pk=symbol.pk).exists()
        conflicts = _session_conflicts(symbol=symbol, bar_size=bar_size, rows=rows)
        if conflicts:
            shown = "; ".join(conflicts[:5])
            more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
            raise CsvImportError(
                f"{len(conflicts)} bar(s) would be a second {bar_size} bar of a session: {shown}"
                f"{more}. Was the file imported before with another --tz? Delete the stored"
                " bars first to stamp them anew."
            )
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
    """Import a CSV file of bars (see ``read_bars_csv`` and ``bars_store``); returns how many
    bars were written.

    Raises CsvImportError before writing anything when any row is bad or would be a second
    bar of a session.
    """
    validate_bar_size(bar_size)
    return bars_store(
        symbol=symbol,
        bar_size=bar_size,
        rows=read_bars_csv(path, source_timezone=source_timezone),
    )


def symbol_resolve_for_import(
    *,
    code: str,
    sec_type: str | None = None,
    currency: str | None = None,
    trading_calendar: str | None = None,
) -> tuple[Symbol, bool]:
    """The symbol an import writes to, and whether it was created (saved either way).

    Input: the ticker ``code``; ``sec_type`` (a SecType value) and ``currency`` may be None,
    ``trading_calendar`` (an exchange-calendars code) None to leave it as it is.

    What is omitted is not assumed: the symbols with ``code`` and the given security type and
    currency are looked up. Exactly one → that one (`--symbol EUR` on a store that holds only
    EUR CASH USD means EUR.USD, as a ticker search in a trading platform would pick it; the
    command prints the symbol it wrote to). Several → ImportSymbolError naming them all, since
    guessing could put bars on the wrong instrument. None → a new symbol with sec_type STK and
    currency USD for what is omitted. ``trading_calendar`` is set on the symbol; a symbol
    created here also takes the calendar's timezone (used for DAY-order expiry).

    Raises ImportSymbolError for an ambiguous code or a calendar exchange-calendars does not
    know (before anything is written).
    """
    if trading_calendar is not None and trading_calendar not in calendar_names():
        raise ImportSymbolError(
            f"unknown trading calendar {trading_calendar!r}: expected an exchange-calendars"
            " code such as XNYS, XNAS, XLON, XTKS or CMES"
        )
    given = {"symbol": code, "sec_type": sec_type, "currency": currency}
    matches = list(
        Symbol.objects.filter(**{field: value for field, value in given.items() if value})
    )
    if len(matches) > 1:
        listed = ", ".join(str(symbol) for symbol in matches)
        raise ImportSymbolError(
            f"{code} matches {len(matches)} symbols ({listed}): name the security type and"
            " currency to choose one"
        )
    created = not matches
    symbol = (
        matches[0]
        if matches
        else Symbol(symbol=code, sec_type=sec_type or SecType.STOCK, currency=currency or "USD")
    )
    if trading_calendar is not None and trading_calendar != symbol.trading_calendar:
        symbol.trading_calendar = trading_calendar
        if created:
            symbol.timezone = calendar_timezone(trading_calendar)
        else:
            symbol.save(update_fields=["trading_calendar"])
    if created:
        symbol.full_clean()
        symbol.save()
    return symbol, created
