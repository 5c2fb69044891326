"""manage.py run_strategy SLUG [--as-of ISO8601] [--async] — one run, inline and printed step by
step, or enqueued for a worker."""

from argparse import ArgumentParser
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone as dj_timezone

from apps.lineage.models import RunStatus, RunTrigger
from apps.lineage.services import run_create
from apps.pipeline.executor import strategy_run
from apps.pipeline.report import run_report
from apps.pipeline.tasks import enqueue_runs
from apps.strategies.models import Strategy


def _as_of(text: str | None) -> datetime:
    if not text:
        return dj_timezone.now()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--as-of: not an ISO 8601 time: {text!r}") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Command(BaseCommand):
    help = "Run one strategy through the six steps now; exit non-zero when the run fails."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--as-of", help="ISO 8601; naive means UTC; default now")
        parser.add_argument(
            "--async",
            dest="enqueue",
            action="store_true",
            help="enqueue the run on the Celery 'runs' queue instead of running it here",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        strategy = Strategy.objects.filter(slug=options["slug"]).first()
        if strategy is None:
            raise CommandError(f"no strategy with slug {options['slug']!r}")
        as_of = _as_of(options["as_of"])
        if options["enqueue"]:
            run = run_create(strategy_id=strategy.pk, trigger=RunTrigger.MANUAL, as_of=as_of)
            enqueue_runs([run.pk])
            self.stdout.write(
                f"run {run.pk} of {strategy.slug} enqueued (as of {as_of.isoformat()})"
            )
            return
        run = strategy_run(strategy=strategy, as_of=as_of, trigger=RunTrigger.MANUAL)
        self.stdout.write(run_report(run))
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"run {run.pk} failed: {run.error_message}")
