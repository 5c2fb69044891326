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
    out = StringIO()
    call_command("import_bars", str(path), *args, stdout=out)
    return out.getvalue()


def test_imports_shipped_goog_bars_and_creates_the_symbol() -> None:
    output = import_bars(BARS_DIR / "GOOG_1d.csv", "--symbol", "GOOG", "--bar-size", "1 day")
    assert output.strip() == "imported 2148 1 day bars of GOOG STK USD"
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
