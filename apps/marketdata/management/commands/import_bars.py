"""manage.py import_bars FILE --symbol S --bar-size B [--sec-type T --currency C --tz Z]."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.common.errors import SibylError
from apps.marketdata.csv_import import bars_import_csv
from apps.marketdata.models import BarSize
from apps.symbols.models import SecType, Symbol


class Command(BaseCommand):
    help = "Import OHLCV bars from a CSV file (ts/date, open, high, low, close, volume)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--bar-size", required=True, choices=BarSize.values)
        parser.add_argument("--sec-type", default="STK", choices=SecType.values)
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--tz", default="UTC", help="timezone of naive timestamps")

    def handle(self, *args: Any, **options: Any) -> None:
        symbol, created = Symbol.objects.get_or_create(
            symbol=options["symbol"], sec_type=options["sec_type"], currency=options["currency"]
        )
        try:
            count = bars_import_csv(
                path=options["file"],
                symbol=symbol,
                bar_size=options["bar_size"],
                source_timezone=options["tz"],
            )
        except SibylError as error:
            if created:
                symbol.delete()
            raise CommandError(f"import rejected, nothing stored: {error}") from error
        self.stdout.write(f"imported {count} {options['bar_size']} bars of {symbol}")
