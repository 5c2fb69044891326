"""CSV import service: good files import, re-imports upsert, bad files store nothing."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from apps.marketdata.bar_sizes import UnknownBarSizeError
from apps.marketdata.csv_import import CsvImportError, bars_import_csv, read_bars_csv
from apps.marketdata.models import Bar
from apps.symbols.models import Symbol
from tests.conftest import BARS_DIR
from tests.factories import SymbolFactory

pytestmark = pytest.mark.django_db

HEADER = "ts,open,high,low,close,volume\n"
GOOD = HEADER + (
    "2024-01-02,10,12,9,11,1000\n"
    "2024-01-03,11,13,10.5,12.25,2000\n"
    "2024-01-04,12.25,12.5,11,11.5,1500\n"
)


def write_csv(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def stored(symbol: Symbol) -> list[tuple[datetime, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    return list(
        Bar.objects.filter(symbol=symbol)
        .order_by("ts")
        .values_list("ts", "open", "high", "low", "close", "volume")
    )


def test_good_file_imports(tmp_path: Path) -> None:
    symbol = SymbolFactory.create()
    count = bars_import_csv(path=write_csv(tmp_path, GOOD), symbol=symbol, bar_size="1 day")
    assert count == 3
    assert stored(symbol) == [
        (datetime(2024, 1, 2, tzinfo=UTC), 10, 12, 9, 11, 1000),
        (datetime(2024, 1, 3, tzinfo=UTC), 11, 13, Decimal("10.5"), Decimal("12.25"), 2000),
        (
            datetime(2024, 1, 4, tzinfo=UTC),
            Decimal("12.25"),
            Decimal("12.5"),
            11,
            Decimal("11.5"),
            1500,
        ),
    ]
    assert set(Bar.objects.values_list("bar_size", flat=True)) == {"1 day"}


def test_shipped_goog_daily_bars_import() -> None:
    symbol = SymbolFactory.create(symbol="GOOG")
    count = bars_import_csv(path=BARS_DIR / "GOOG_1d.csv", symbol=symbol, bar_size="1 day")
    assert count == 2148
    bars = Bar.objects.filter(symbol=symbol, bar_size="1 day")
    assert bars.count() == 2148
    first = bars.order_by("ts").first()
    last = bars.order_by("ts").last()
    assert first is not None and last is not None
    assert first.ts == datetime(2004, 8, 19, tzinfo=UTC)
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        Decimal("100"),
        Decimal("104.06"),
        Decimal("95.96"),
        Decimal("100.34"),
        Decimal("22351900"),
    )
    assert last.ts == datetime(2013, 3, 1, tzinfo=UTC)


def test_goog_reimport_adds_no_duplicates() -> None:
    symbol = SymbolFactory.create(symbol="GOOG")
    bars_import_csv(path=BARS_DIR / "GOOG_1d.csv", symbol=symbol, bar_size="1 day")
    bars_import_csv(path=BARS_DIR / "GOOG_1d.csv", symbol=symbol, bar_size="1 day")
    assert Bar.objects.filter(symbol=symbol).count() == 2148


def test_reimport_updates_values_without_duplicates(tmp_path: Path) -> None:
    symbol = SymbolFactory.create()
    bars_import_csv(path=write_csv(tmp_path, GOOD), symbol=symbol, bar_size="1 day")
    before = stored(symbol)
    bars_import_csv(path=write_csv(tmp_path, GOOD), symbol=symbol, bar_size="1 day")
    assert stored(symbol) == before

    revised = HEADER + "2024-01-03,11,14,10,13.5,2222\n2024-01-05,11.5,12,11,11.75,900\n"
    assert bars_import_csv(path=write_csv(tmp_path, revised), symbol=symbol, bar_size="1 day") == 2
    after = stored(symbol)
    assert len(after) == 4
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] == (datetime(2024, 1, 3, tzinfo=UTC), 11, 14, 10, Decimal("13.5"), 2222)
    assert after[3][0] == datetime(2024, 1, 5, tzinfo=UTC)


def test_same_timestamps_of_another_bar_size_or_symbol_are_separate(tmp_path: Path) -> None:
    symbol, other = SymbolFactory.create(), SymbolFactory.create()
    path = write_csv(tmp_path, GOOD)
    bars_import_csv(path=path, symbol=symbol, bar_size="1 day")
    bars_import_csv(path=path, symbol=symbol, bar_size="1 hour")
    bars_import_csv(path=path, symbol=other, bar_size="1 day")
    assert Bar.objects.count() == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "ts,open,high,low,volume\n2024-01-02,10,12,9,1000\n",
            r"missing column\(s\): close",
            id="missing-column",
        ),
        pytest.param(
            "when,open,high,low,close,volume\n2024-01-02,10,12,9,11,1000\n",
            "no time column",
            id="missing-time-column",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13,10,twelve,2000\n",
            r"line 3, column close: cannot parse 'twelve' as a number",
            id="unparsable-number",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13,10,,2000\n",
            r"line 3, column close: empty, expected a number",
            id="blank-value",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13\n",
            r"line 3, column low: missing \(fewer fields than the header\)",
            id="short-row",
        ),
        pytest.param(
            HEADER + "yesterday,10,12,9,11,1000\n",
            r"line 2, column ts: cannot parse 'yesterday' as an ISO 8601 time",
            id="unparsable-timestamp",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13,10,nan,2000\n",
            "not a finite number",
            id="nan",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,inf\n",
            "not a finite number",
            id="infinity",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,9,12,11,1000\n",
            "high 9 < low 12",
            id="high-below-low",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,-1\n",
            "volume is negative",
            id="negative-volume",
        ),
        pytest.param(
            HEADER + "2024-01-03,10,12,9,11,1000\n2024-01-02,10,12,9,11,1000\n",
            "not after the previous bar",
            id="unsorted",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-02,10,12,9,11,1000\n",
            "not after the previous bar",
            id="duplicate-timestamp",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,1000000000000,9,11,1000\n",
            "line 2: high 1000000000000 is too large to store",
            id="price-too-large-for-the-column",
        ),
        pytest.param(
            HEADER + "2024-01-02,10,12,9,11,1e16\n",
            "line 2: volume 1E[+]16 is too large to store",
            id="volume-too-large-for-the-column",
        ),
        pytest.param("", "is empty", id="empty-file"),
        pytest.param(HEADER, "holds no bars", id="header-only"),
    ],
)
def test_malformed_file_is_rejected_and_stores_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    symbol = SymbolFactory.create()
    # Stored bars that the bad file would overwrite must survive untouched.
    bars_import_csv(path=write_csv(tmp_path, GOOD, "good.csv"), symbol=symbol, bar_size="1 day")
    before = stored(symbol)
    bad = write_csv(tmp_path, text.replace("2024-01-02,10,12,9,11,1000", "2024-01-02,1,2,1,2,5"))
    with pytest.raises(CsvImportError, match=message):
        bars_import_csv(path=bad, symbol=symbol, bar_size="1 day")
    assert stored(symbol) == before
    assert Bar.objects.count() == 3


def test_largest_storable_values_import(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,999999999999,999999999999,1,2,9999999999999999.5\n"
    symbol = SymbolFactory.create()
    bars_import_csv(path=write_csv(tmp_path, text), symbol=symbol, bar_size="1 day")
    bar = Bar.objects.get()
    assert (bar.high, bar.volume) == (Decimal("999999999999"), Decimal("9999999999999999.5"))


def test_error_names_the_bad_bar(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13,10,nan,2000\n"
    with pytest.raises(CsvImportError) as caught:
        read_bars_csv(write_csv(tmp_path, text))
    assert "1 bad bar(s): 2024-01-03T00:00:00+00:00" in str(caught.value)


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    symbol = SymbolFactory.create()
    with pytest.raises(CsvImportError, match="cannot read"):
        bars_import_csv(path=tmp_path / "absent.csv", symbol=symbol, bar_size="1 day")
    assert Bar.objects.count() == 0


def test_undecodable_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + b"2024-01-02,10,12,9,11,1000\xff\n")
    with pytest.raises(CsvImportError, match="cannot read"):
        bars_import_csv(path=path, symbol=SymbolFactory.create(), bar_size="1 day")
    assert Bar.objects.count() == 0


def test_unknown_bar_size_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(UnknownBarSizeError, match="unknown bar size '2 days'"):
        bars_import_csv(
            path=write_csv(tmp_path, GOOD), symbol=SymbolFactory.create(), bar_size="2 days"
        )
    assert Bar.objects.count() == 0


def test_unknown_source_timezone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="unknown timezone 'Mars/Olympus'"):
        read_bars_csv(write_csv(tmp_path, GOOD), source_timezone="Mars/Olympus")


def test_naive_timestamps_are_taken_in_the_source_timezone(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02 09:30,10,12,9,11,1\n2024-07-01 09:30:00,10,12,9,11,1\n"
    rows = read_bars_csv(write_csv(tmp_path, text), source_timezone="America/New_York")
    # EST is UTC-5 in January, EDT UTC-4 in July.
    assert [r.ts for r in rows] == [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 7, 1, 13, 30, tzinfo=UTC),
    ]


def test_aware_timestamps_keep_their_offset(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02T09:30:00-05:00,10,12,9,11,1\n2024-01-02T15:00:00Z,10,12,9,11,1\n"
    rows = read_bars_csv(write_csv(tmp_path, text), source_timezone="Asia/Tokyo")
    assert [r.ts for r in rows] == [
        datetime(2024, 1, 2, 14, 30, tzinfo=UTC),
        datetime(2024, 1, 2, 15, 0, tzinfo=UTC),
    ]


def test_date_column_and_loose_header_work(tmp_path: Path) -> None:
    text = " Date , Open,HIGH,low ,Close,Volume\n2024-01-02,10,12,9,11,1000\n"
    symbol = SymbolFactory.create()
    assert bars_import_csv(path=write_csv(tmp_path, text), symbol=symbol, bar_size="1 day") == 1
    assert stored(symbol) == [(datetime(2024, 1, 2, tzinfo=UTC), 10, 12, 9, 11, 1000)]


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text(GOOD, encoding="utf-8-sig")
    assert [r.ts.day for r in read_bars_csv(path)] == [2, 3, 4]


# Separators (issue 11, item 2) and per-cell errors (item 3)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_separators_are_detected(tmp_path: Path, separator: str) -> None:
    text = GOOD.replace(",", separator)
    rows = read_bars_csv(write_csv(tmp_path, text))
    assert [(row.ts.day, row.close) for row in rows] == [
        (2, Decimal("11")),
        (3, Decimal("12.25")),
        (4, Decimal("11.5")),
    ]


def test_a_missing_column_names_the_separator_and_the_columns_seen(tmp_path: Path) -> None:
    text = "date;open;high;low;close\n2024-01-02;10;12;9;11\n"
    with pytest.raises(CsvImportError) as raised:
        read_bars_csv(write_csv(tmp_path, text))
    assert str(raised.value) == (
        "missing column(s): volume (read as semicolon-separated;"
        " columns seen: date, open, high, low, close)"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("2024-01-03,11,13,10,12,", "line 3, column volume: empty, expected a number"),
        ("2024-01-03,11, ,10,12,5", "line 3, column high: empty, expected a number"),
        ("2024-01-03,11,x,10,12,5", "line 3, column high: cannot parse 'x' as a number"),
        (
            "2024/01/03,11,13,10,12,5",
            "line 3, column ts: cannot parse '2024/01/03' as an ISO 8601 time",
        ),
        (",11,13,10,12,5", "line 3, column ts: empty, expected an ISO 8601 time"),
        ("2024-01-03,11,13,10,12", "line 3, column volume: missing (fewer fields than the header)"),
    ],
)
def test_a_bad_cell_is_named_by_line_and_column(tmp_path: Path, line: str, message: str) -> None:
    text = HEADER + "2024-01-02,10,12,9,11,1000\n" + line + "\n"
    with pytest.raises(CsvImportError) as raised:
        read_bars_csv(write_csv(tmp_path, text))
    assert str(raised.value) == message


def test_line_numbers_are_file_lines(tmp_path: Path) -> None:
    # A blank line is skipped by the reader but still counts in the editor.
    text = HEADER + "2024-01-02,10,12,9,11,1000\n\n2024-01-03,11,13,10,12,\n"
    with pytest.raises(CsvImportError, match=r"^line 4, column volume: empty"):
        read_bars_csv(write_csv(tmp_path, text))


def test_a_decimal_comma_gets_a_hint(tmp_path: Path) -> None:
    text = "date;open;high;low;close;volume\n2024-01-02;10,5;12;9;11;1000\n"
    with pytest.raises(CsvImportError, match=r"'10,5' as a number \(a decimal comma"):
        read_bars_csv(write_csv(tmp_path, text))


# One bar per week and month (item 1)


@pytest.mark.parametrize(
    ("bar_size", "first", "second", "period"),
    [
        ("1 week", "2024-01-01", "2024-01-07T05:00Z", "week 2024-W01"),
        ("1 month", "2024-01-01", "2024-01-31", "month 2024-01"),
    ],
)
def test_one_bar_per_week_and_month(
    tmp_path: Path, bar_size: str, first: str, second: str, period: str
) -> None:
    symbol = SymbolFactory.create(timezone="UTC")
    bars_import_csv(
        path=write_csv(tmp_path, HEADER + f"{first},10,12,9,11,1000\n"),
        symbol=symbol,
        bar_size=bar_size,
    )
    with pytest.raises(CsvImportError, match=f"{period} already has a bar at {first}T00:00:00"):
        bars_import_csv(
            path=write_csv(tmp_path, HEADER + f"{second},10,12,9,11,1000\n"),
            symbol=symbol,
            bar_size=bar_size,
        )
    assert Bar.objects.count() == 1
