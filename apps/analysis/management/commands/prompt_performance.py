"""manage.py prompt_performance [--compute] — the latest score of every prompt template version
and owner, as a table; --compute stores new scores first (what the daily beat task does)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from apps.analysis.management.commands._table import text_table
from apps.analysis.performance import prompt_performance_compute
from apps.analysis.selectors import prompt_scores_latest

HEADERS = (
    "template",
    "owner",
    "signals",
    "accepted",
    "filled",
    "closed",
    "win rate",
    "avg R",
    "computed at (UTC)",
)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


class Command(BaseCommand):
    help = (
        "Print the latest score per prompt template version and owner of the strategies "
        "scored (- for ownerless ones): signals, accepted share of BUY/SELL "
        "signals, filled share of accepted ones, closed trades, win rate and average R multiple."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--compute", action="store_true", help="compute and store new scores first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["compute"]:
            stored = prompt_performance_compute(now=timezone.now())
            self.stdout.write(f"stored {len(stored)} score(s)")
        scores = prompt_scores_latest(all_owners=True)
        if not scores:
            self.stdout.write("no prompt scores yet (run with --compute)")
            return
        rows = [
            (
                f"{score.template.name}@{score.template.version}",
                score.owner.username if score.owner else "-",
                str(score.signals),
                _percent(score.accepted_share),
                _percent(score.filled_share),
                str(score.closed_trades),
                _percent(score.win_rate),
                "-" if score.avg_r_multiple is None else f"{score.avg_r_multiple:+.2f}",
                f"{score.computed_at:%Y-%m-%d %H:%M}",
            )
            for score in scores
        ]
        self.stdout.write(text_table(HEADERS, rows))
