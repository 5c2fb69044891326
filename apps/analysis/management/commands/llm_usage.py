"""manage.py llm_usage [--days N] — language-model calls, tokens and estimated cost (USD) per
strategy and UTC day."""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.analysis.management.commands._table import text_table
from apps.analysis.selectors import llm_usage_by_strategy_day

HEADERS = ("strategy", "day (UTC)", "calls", "failed", "prompt tokens", "completion tokens", "USD")


class Command(BaseCommand):
    help = "Print language-model usage per strategy and UTC day, with a total line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            help="only the last N UTC days, today included (default: every day)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        since = None if days is None else timezone.now().date() - timedelta(days=days - 1)
        rows = llm_usage_by_strategy_day(since=since)
        if not rows:
            self.stdout.write("no language-model calls" + (f" since {since}" if since else ""))
            return
        lines = [
            (
                row.strategy,
                row.day.isoformat(),
                str(row.calls),
                str(row.failed_calls),
                str(row.prompt_tokens),
                str(row.completion_tokens),
                f"{row.cost_usd:.6f}",
            )
            for row in rows
        ]
        lines.append(
            (
                "total",
                "",
                str(sum(row.calls for row in rows)),
                str(sum(row.failed_calls for row in rows)),
                str(sum(row.prompt_tokens for row in rows)),
                str(sum(row.completion_tokens for row in rows)),
                f"{sum(row.cost_usd for row in rows):.6f}",
            )
        )
        self.stdout.write(text_table(HEADERS, lines))
