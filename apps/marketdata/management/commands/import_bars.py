"""manage.py import_bars FILE --symbol S --bar-size B [--sec-type T --currency C --tz Z
--calendar X]."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.common.errors import SibylError
from apps.marketdata.csv_import import bars_import_csv, symbol_resolve_for_import
from apps.marketdata.models import BarSize
from apps.symbols.models import SecType, Symbol


def symbol_line(symbol: Symbol, created: bool) -> str:
    """One line naming every field that tells instruments apart, so a wrong pick shows."""
    return (
        f"symbol {symbol.symbol}: security type {symbol.sec_type}, exchange {symbol.exchange},"
        f" currency {symbol.currency}, trading calendar {symbol.trading_calendar or 'none'}"
        + (" (created by this import)" if created else "")
    )


def no_calendar_warning(symbol: Symbol) -> str:
    """What a symbol without a trading calendar means for its bars, and how to set one."""
    return (
        f"warning: {symbol} has no trading calendar. Its daily bars count as closed only at"
        " the next midnight UTC (a run sees a day's bar the next UTC day, not at the"
        " session's close), its sessions are dates in its timezone"
        f" ({symbol.timezone}) and the scheduler cannot skip its holidays. If it trades on"
        " an exchange, import again with --calendar CODE (an exchange-calendars code such as"
        " XNYS) or set trading_calendar in the strategies file."
    )


class Command(BaseCommand):
    help = (
        "Import OHLCV bars from a CSV file (ts/date, open, high, low, close, volume; separated"
        " by comma, semicolon, tab or pipe). Without --sec-type/--currency, the one existing"
        " symbol with that code is used; a new one is created as STK USD."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--bar-size", required=True, choices=BarSize.values)
        parser.add_argument(
            "--sec-type",
            choices=SecType.values,
            help="security type; omitted: the existing symbol's, STK for a new one",
        )
        parser.add_argument("--currency", help="omitted: the existing symbol's, USD for a new one")
        parser.add_argument("--tz", default="UTC", help="timezone of naive timestamps")
        parser.add_argument(
            "--calendar",
            help="exchange-calendars code (e.g. XNYS) to set as the symbol's trading calendar",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # Symbol creation, calendar change and bars: all or nothing.
            with transaction.atomic():
                symbol, created = symbol_resolve_for_import(
                    code=options["symbol"],
                    sec_type=options["sec_type"],
                    currency=options["currency"],
                    trading_calendar=options["calendar"],
                )
                count = bars_import_csv(
                    path=options["file"],
                    symbol=symbol,
                    bar_size=options["bar_size"],
                    source_timezone=options["tz"],
                )
        except SibylError as error:
            raise CommandError(f"import rejected, nothing stored: {error}") from error
        self.stdout.write(f"imported {count} {options['bar_size']} bars of {symbol}")
        self.stdout.write(symbol_line(symbol, created))
        if not symbol.trading_calendar:
            self.stderr.write(self.style.WARNING(no_calendar_warning(symbol)))
