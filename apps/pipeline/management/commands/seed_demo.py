"""manage.py seed_demo — the demo's strategies and the shipped real bars."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_BARS = (
    ("GOOG_1d.csv", "GOOG", "1 day", "STK", "USD"),
    ("EURUSD_1h.csv", "EUR", "1 hour", "CASH", "USD"),
)


class Command(BaseCommand):
    help = "Apply demo/strategies.yaml and import the shipped bars (data/bars/)."

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "apply_strategies", settings.BASE_DIR / "demo" / "strategies.yaml", stdout=self.stdout
        )
        for filename, symbol, bar_size, sec_type, currency in DEMO_BARS:
            call_command(
                "import_bars",
                settings.BASE_DIR / "data" / "bars" / filename,
                symbol=symbol,
                bar_size=bar_size,
                sec_type=sec_type,
                currency=currency,
                stdout=self.stdout,
            )
