"""manage.py apply_strategies FILE.yaml — strategies as code, idempotent."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from apps.strategies.services import StrategiesFileError, strategies_apply


class Command(BaseCommand):
    help = "Create or update strategies (by slug), symbols and prompt templates from a YAML file."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--owner",
            metavar="USERNAME",
            help="The user every strategy of the file belongs to; a live strategy needs an "
            "owner holding the strategies.trade_live permission, and the active strategies of "
            "a non-staff owner keep within STRATEGIES_MAX_ACTIVE_PER_USER and "
            "SCHEDULE_MIN_INTERVAL_S.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"] is not None:
            try:
                owner = User.objects.get(username=options["owner"])
            except User.DoesNotExist as error:
                raise CommandError(f"no user {options['owner']!r}") from error
        try:
            report = strategies_apply(path=options["file"], owner=owner)
        except StrategiesFileError as error:
            raise CommandError(str(error)) from error
        for label, slugs in (
            ("created", report.created),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
        ):
            if slugs:
                self.stdout.write(f"{label}: {', '.join(slugs)}")
