"""manage.py import_bars: imports, re-imports, and rejects bad files leaving no trace."""

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.marketdata.models import Bar
from apps.symbols.models import Symbol
from tests.conftest import BARS_DIR
from tests.factories import SymbolFactory

pytestmark = pytest.mark.django_db

HEADER = "ts,open,high,low,close,volume\n"
GOOD = HEADER + "2024-01-02,10,12,9,11,1000\n2024-01-03,11,13,10,12,2000\n"


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text(text, encoding="utf-8")
    return path


def import_bars(path: Path, *args: str) -> str:
    return import_bars_with_stderr(path, *args)[0]


def import_bars_with_stderr(path: Path, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_bars", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_shipped_goog_bars_and_creates_the_symbol() -> None:
    output = import_bars(BARS_DIR / "GOOG_1d.csv", "--symbol", "GOOG", "--bar-size", "1 day")
    assert output.splitlines()[0] == "imported 2148 1 day bars of GOOG STK USD"
    symbol = Symbol.objects.get(symbol="GOOG", sec_type="STK", currency="USD")
    bars = Bar.objects.filter(symbol=symbol, bar_size="1 day").order_by("ts")
    assert bars.count() == 2148
    first = bars.first()
    assert first is not None and first.ts == datetime(2004, 8, 19, tzinfo=UTC)


def test_sec_type_and_currency_identify_the_symbol(tmp_path: Path) -> None:
    args = ("--symbol", "EUR", "--bar-size", "1 hour", "--sec-type", "CASH", "--currency", "USD")
    output = import_bars(write_csv(tmp_path, GOOD), *args)
    assert "imported 2 1 hour bars of EUR CASH USD" in output
    symbol = Symbol.objects.get()
    assert (symbol.symbol, symbol.sec_type, symbol.currency) == ("EUR", "CASH", "USD")


def test_reimport_uses_the_existing_symbol_and_adds_no_duplicates(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD)
    import_bars(path, "--symbol", "ABC", "--bar-size", "1 day")
    path.write_text(HEADER + "2024-01-03,11,15,10,14,3000\n", encoding="utf-8")
    import_bars(path, "--symbol", "ABC", "--bar-size", "1 day")
    assert Symbol.objects.count() == 1
    assert Bar.objects.count() == 2
    updated = Bar.objects.get(ts=datetime(2024, 1, 3, tzinfo=UTC))
    assert (updated.high, updated.close, updated.volume) == (15, 14, 3000)


def test_naive_timestamps_with_tz_are_stored_in_utc(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "date,open,high,low,close,volume\n2024-03-11 09:30,10,12,9,11,5\n")
    import_bars(path, "--symbol", "ABC", "--bar-size", "1 hour", "--tz", "America/New_York")
    # 11 March 2024 is after the switch to EDT (UTC-4).
    assert Bar.objects.get().ts == datetime(2024, 3, 11, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("ts,open,high,low,close\n2024-01-02,1,2,1,2\n", "volume", id="missing-column"),
        pytest.param(HEADER + "2024-01-02,1,x,1,2,5\n", "cannot parse", id="unparsable-number"),
        pytest.param(HEADER + "2024-01-02,1,nan,1,2,5\n", "not a finite number", id="nan"),
        pytest.param(HEADER + "2024-01-02,2,1,3,2,5\n", "high 1 < low 3", id="high-below-low"),
        pytest.param(GOOD + "2024-01-01,10,12,9,11,1000\n", "not after", id="unsorted"),
        pytest.param(GOOD + "2024-01-03,10,12,9,11,1000\n", "not after", id="duplicate"),
        pytest.param(HEADER + "2024-01-02,1,2,1,2,1e20\n", "too large", id="too-large"),
        pytest.param("", "is empty", id="empty-file"),
    ],
)
def test_bad_file_is_rejected_and_a_created_symbol_removed(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(CommandError, match=f"import rejected, nothing stored: .*{message}"):
        import_bars(write_csv(tmp_path, text), "--symbol", "NEW", "--bar-size", "1 day")
    assert Bar.objects.count() == 0
    assert not Symbol.objects.filter(symbol="NEW").exists()


def test_bad_file_keeps_an_existing_symbol_and_its_bars(tmp_path: Path) -> None:
    symbol = SymbolFactory.create(symbol="OLD", sec_type="STK", currency="USD")
    import_bars(write_csv(tmp_path, GOOD), "--symbol", "OLD", "--bar-size", "1 day")
    before = list(Bar.objects.values_list("ts", "close"))
    bad = HEADER + "2024-01-02,1,2,1,2,5\n2024-01-03,1,2,1,nan,5\n"
    with pytest.raises(CommandError, match="nothing stored"):
        import_bars(write_csv(tmp_path, bad), "--symbol", "OLD", "--bar-size", "1 day")
    assert Symbol.objects.filter(pk=symbol.pk).exists()
    assert list(Bar.objects.values_list("ts", "close")) == before


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        import_bars(tmp_path / "absent.csv", "--symbol", "NEW", "--bar-size", "1 day")
    assert not Symbol.objects.exists()


def test_unknown_timezone_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown timezone 'Nowhere/Land'"):
        import_bars(
            write_csv(tmp_path, GOOD),
            "--symbol",
            "NEW",
            "--bar-size",
            "1 day",
            "--tz",
            "Nowhere/Land",
        )
    assert not Symbol.objects.exists()


def test_unknown_bar_size_is_refused_by_the_parser(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        import_bars(write_csv(tmp_path, GOOD), "--symbol", "NEW", "--bar-size", "2 days")
    assert not Symbol.objects.exists()


# One bar per session (issue 11, item 1)


def test_second_import_with_another_tz_is_refused_naming_both_times(tmp_path: Path) -> None:
    # given a file of plain dates imported in UTC (bars at 00:00 UTC)
    path = write_csv(tmp_path, GOOD)
    import_bars(path, "--symbol", "IDX", "--bar-size", "1 day")
    # when the same file is imported again as New York dates (05:00 UTC in January)
    with pytest.raises(CommandError) as raised:
        import_bars(path, "--symbol", "IDX", "--bar-size", "1 day", "--tz", "America/New_York")
    # then it is refused, naming the stored and the new time of each session
    message = str(raised.value)
    assert message.startswith("import rejected, nothing stored: 2 bar(s) would be a second")
    assert (
        "session 2024-01-02 already has a bar at 2024-01-02T00:00:00+00:00; the new bar at"
        " 2024-01-02T05:00:00+00:00 would be a second one" in message
    )
    assert "2024-01-03T05:00:00+00:00" in message
    assert sorted(Bar.objects.values_list("ts", flat=True)) == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    ]


def test_identical_reimport_with_a_calendar_and_tz_is_idempotent(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD)
    args = ("--symbol", "IDX", "--bar-size", "1 day", "--tz", "America/New_York")
    import_bars(path, *args, "--calendar", "XNYS")
    output = import_bars(path, *args)
    assert "imported 2 1 day bars" in output
    assert Bar.objects.count() == 2


def test_sessions_follow_the_calendar_of_the_exchange(tmp_path: Path) -> None:
    # given Tokyo bars stamped 00:00 UTC, for a symbol in UTC with the XTKS calendar
    path = write_csv(tmp_path, HEADER + "2024-01-04,10,12,9,11,1000\n")
    common = ("--symbol", "7203", "--bar-size", "1 day", "--calendar", "XTKS")
    import_bars(path, *common)
    # when the file is imported again as Tokyo dates (15:00 UTC the day before)
    with pytest.raises(CommandError, match="session 2024-01-04 already has a bar at") as raised:
        import_bars(path, *common, "--tz", "Asia/Tokyo")
    # then the session is Tokyo's 4 January, not the UTC date 3 January
    assert "the new bar at 2024-01-03T15:00:00+00:00" in str(raised.value)
    assert Bar.objects.count() == 1


def test_two_bars_of_one_session_in_one_file_are_refused(tmp_path: Path) -> None:
    text = HEADER + "2024-01-02T00:00Z,10,12,9,11,1000\n2024-01-02T14:30Z,11,13,10,12,5\n"
    with pytest.raises(CommandError, match="2 bars in session 2024-01-02: 2024-01-02T00:00"):
        import_bars(write_csv(tmp_path, text), "--symbol", "IDX", "--bar-size", "1 day")
    assert not Bar.objects.exists()


def test_hourly_bars_are_not_held_to_one_per_session(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD)
    import_bars(path, "--symbol", "IDX", "--bar-size", "1 hour")
    import_bars(path, "--symbol", "IDX", "--bar-size", "1 hour", "--tz", "America/New_York")
    assert Bar.objects.count() == 4


# Choosing the symbol (item 4) and its trading calendar (item 5)


def test_without_sec_type_the_only_symbol_with_the_code_is_used(tmp_path: Path) -> None:
    eurusd = SymbolFactory.create(
        symbol="EUR", sec_type="CASH", currency="USD", exchange="IDEALPRO"
    )
    output = import_bars(write_csv(tmp_path, GOOD), "--symbol", "EUR", "--bar-size", "1 day")
    assert Symbol.objects.count() == 1
    assert Bar.objects.filter(symbol=eurusd).count() == 2
    assert output.splitlines() == [
        "imported 2 1 day bars of EUR CASH USD",
        "symbol EUR: security type CASH, exchange IDEALPRO, currency USD, trading calendar none",
    ]


def test_without_sec_type_several_symbols_with_the_code_are_refused(tmp_path: Path) -> None:
    SymbolFactory.create(symbol="EUR", sec_type="CASH", currency="USD")
    SymbolFactory.create(symbol="EUR", sec_type="STK", currency="USD")
    with pytest.raises(CommandError, match=r"EUR matches 2 symbols \(EUR CASH USD, EUR STK USD\)"):
        import_bars(write_csv(tmp_path, GOOD), "--symbol", "EUR", "--bar-size", "1 day")
    assert not Bar.objects.exists()


def test_a_new_symbol_is_printed_with_its_fields(tmp_path: Path) -> None:
    output = import_bars(write_csv(tmp_path, GOOD), "--symbol", "NEW", "--bar-size", "1 day")
    assert output.splitlines()[1] == (
        "symbol NEW: security type STK, exchange SMART, currency USD, trading calendar none"
        " (created by this import)"
    )


def test_a_symbol_without_calendar_gets_a_warning(tmp_path: Path) -> None:
    _, err = import_bars_with_stderr(
        write_csv(tmp_path, GOOD), "--symbol", "NEW", "--bar-size", "1 day"
    )
    assert "warning: NEW STK USD has no trading calendar" in err
    assert "count as closed only at the next midnight UTC" in err
    assert "--calendar" in err


def test_calendar_option_sets_the_calendar_and_a_new_symbols_timezone(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD)
    out, err = import_bars_with_stderr(
        path, "--symbol", "NEW", "--bar-size", "1 day", "--calendar", "XNYS"
    )
    symbol = Symbol.objects.get(symbol="NEW")
    assert (symbol.trading_calendar, symbol.timezone) == ("XNYS", "America/New_York")
    assert "trading calendar XNYS" in out
    assert err == ""


def test_calendar_option_updates_an_existing_symbol(tmp_path: Path) -> None:
    symbol = SymbolFactory.create(symbol="OLD", timezone="Europe/London")
    import_bars(
        write_csv(tmp_path, GOOD), "--symbol", "OLD", "--bar-size", "1 day", "--calendar", "XLON"
    )
    symbol.refresh_from_db()
    assert (symbol.trading_calendar, symbol.timezone) == ("XLON", "Europe/London")


def test_unknown_calendar_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown trading calendar 'XMOON'"):
        import_bars(
            write_csv(tmp_path, GOOD),
            "--symbol",
            "NEW",
            "--bar-size",
            "1 day",
            "--calendar",
            "XMOON",
        )
    assert not Symbol.objects.exists()


def test_a_calendar_set_by_a_rejected_import_is_rolled_back(tmp_path: Path) -> None:
    symbol = SymbolFactory.create(symbol="OLD")
    bad = HEADER + "2024-01-02,1,2,1,nan,5\n"
    with pytest.raises(CommandError, match="nothing stored"):
        import_bars(
            write_csv(tmp_path, bad), "--symbol", "OLD", "--bar-size", "1 day", "--calendar", "XNYS"
        )
    symbol.refresh_from_db()
    assert symbol.trading_calendar == ""
