"""manage.py backtest SLUG --start DATE --end DATE [--variant k=v,… …] [--llm-cache MODE]
[--anonymise] [--max-cost USD [--yes]] [--parallel] [--json F] [--csv F]
manage.py backtest --resume ID — a walk-forward backtest with a progress bar and a summary."""

import json
import time as clock
from argparse import ArgumentParser
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.analysis.models import PromptTemplate
from apps.evaluation.models import Backtest, BacktestStatus, BacktestVariant
from apps.evaluation.report import SUMMARY_COLUMNS, backtest_report, report_csv, summary_rows
from apps.evaluation.services import (
    VariantSpec,
    backtest_cancel,
    backtest_cost_estimate,
    backtest_create,
    backtest_remaining_cost_estimate,
    backtest_reopen,
    backtest_run,
)
from apps.evaluation.tasks import TaskQueueUnavailableError, backtest_start
from apps.lineage.models import LlmCacheMode
from apps.strategies.models import AnalystKind, Strategy

POLL_S = 0.5  # how often --parallel reads the variants' counters

VARIANT_KEYS = ("label", "model", "prompt", "analyst")


def _moment(text: str, *, end: bool) -> datetime:
    """An ISO date (start: 00:00 UTC; end: the end of that day) or time (naive: UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"not an ISO 8601 date or time: {text!r}") from error
    if len(text) == 10:  # a plain date
        moment = datetime.combine(moment.date(), time.max if end else time.min)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _template(strategy: Strategy, value: str) -> int:
    """The id of version ``value`` (``3`` or ``v3``) of the strategy's prompt template name."""
    number = value.lower().removeprefix("v")
    if not number.isdigit():
        raise CommandError(f"prompt={value!r}: expected a version number such as 3 or v3")
    found = PromptTemplate.objects.filter(
        name=strategy.prompt_template.name, version=int(number)
    ).first()
    if found is None:
        raise CommandError(f"no version {number} of prompt {strategy.prompt_template.name!r}")
    return found.pk


def _variant(strategy: Strategy, text: str, n: int) -> VariantSpec:
    """``model=…,prompt=3,analyst=baseline,label=…`` (every key optional)."""
    values: dict[str, str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in VARIANT_KEYS:
            raise CommandError(f"--variant {text!r}: expected key=value with keys {VARIANT_KEYS}")
        values[key.strip()] = value.strip()
    analyst = values.get("analyst", "")
    if analyst and analyst not in AnalystKind.values:
        raise CommandError(f"analyst={analyst!r}: expected one of {AnalystKind.values}")
    label = values.get("label") or ",".join(f"{k}={v}" for k, v in values.items()) or f"v{n}"
    return VariantSpec(
        label=label,
        llm_model=values.get("model", ""),
        prompt_template_id=_template(strategy, values["prompt"]) if "prompt" in values else None,
        analyst=analyst,
    )


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise CommandError(f"--max-cost {text!r}: expected an amount in USD") from error
    if value < 0:
        raise CommandError("--max-cost must be 0 or more")
    return value


def _cell(value: object) -> str:
    return "" if value is None else str(value)


# The table's columns: the summary's, the long leakage warning shortened to the cutoff and
# the span (column ``leakage``), the warnings then printed in full below the table.
TABLE_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("leakage_warning", "leakage_span"))


def _leakage_cell(row: dict[str, Any]) -> str:
    """``2012-03-05..2012-03-07`` (the days the model may have seen) for a row with a leakage
    span, else ""."""
    return str(row.get("leakage_span") or "")


def _summary_print(console: Console, backtest: Backtest, report: dict[str, Any]) -> None:
    """The summary table (one row per variant and buy-and-hold) and each leakage warning."""
    anonymised = ", anonymised" if report.get("anonymise") else ""
    table = Table(
        title=f"backtest {backtest.pk} of {report['strategy']} ({backtest.status}{anonymised})"
    )
    for column in TABLE_COLUMNS:
        table.add_column(column, justify="left" if column == "label" else "right")
    table.add_column("leakage", no_wrap=True)
    rows = summary_rows(report)
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in TABLE_COLUMNS), _leakage_cell(row))
    console.print(table)
    for row in rows:
        if row.get("leakage_warning"):
            console.print(
                f"{row['label']}: {row['leakage_warning']}, over {row['leakage_span']}",
                soft_wrap=True,
                markup=False,
            )


class Command(BaseCommand):
    help = "Backtest a strategy over a past window (every schedule slot a run) and summarise it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("slug", nargs="?")
        parser.add_argument("--start", help="ISO date or time (naive: UTC)")
        parser.add_argument("--end", help="ISO date (its whole day) or time (naive: UTC)")
        parser.add_argument(
            "--variant",
            action="append",
            default=[],
            help="model=…,prompt=N,analyst=baseline|openai,label=… (repeat for more)",
        )
        parser.add_argument("--resume", type=int, help="resume backtest ID")
        parser.add_argument(
            "--llm-cache",
            choices=LlmCacheMode.values,
            default=LlmCacheMode.OFF,
            help="LLM answer cache mode of every run (default off; a resume keeps its own)",
        )
        parser.add_argument(
            "--anonymise",
            action="store_true",
            help="leakage guard: the model sees no ticker, company name or date (prompt dates "
            "as bar offsets t-0, t-1, …; chart without dates or title)",
        )
        parser.add_argument(
            "--max-cost",
            type=_usd,
            help="refuse (unless --yes) when the estimated LLM cost in USD is above this",
        )
        parser.add_argument("--yes", action="store_true", help="start even above --max-cost")
        parser.add_argument(
            "--parallel",
            action="store_true",
            help="run the variants in parallel on the Celery runs queue and wait for them",
        )
        parser.add_argument("--json", dest="json_path", help="write the full report here")
        parser.add_argument("--csv", dest="csv_path", help="write the summary rows here")

    def handle(self, *args: Any, **options: Any) -> None:
        backtest = self._backtest(options)
        # the wrapped stream: OutputWrapper.write would add line endings to the bar's updates
        stream = cast(IO[str], self.stdout._out)
        # a terminal's own width; redirected output gets room for every column
        console = Console(file=stream, width=None if stream.isatty() else 240)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            tasks = {
                v.pk: progress.add_task(v.label, total=v.slots_total, completed=v.slots_done)
                for v in backtest.variants.all()
            }

            def advance(variant: BacktestVariant, done: int, total: int) -> None:
                progress.update(tasks[variant.pk], completed=done, total=total)

            if options["parallel"]:
                backtest = self._wait(backtest, advance)
            else:
                backtest = backtest_run(backtest, progress=advance)
        report = backtest_report(backtest)
        _summary_print(console, backtest, report)
        if options["json_path"]:
            with open(options["json_path"], "w", encoding="utf-8") as out:
                json.dump(report, out, indent=2)
        if options["csv_path"]:
            with open(options["csv_path"], "w", encoding="utf-8", newline="") as out:
                report_csv(report, out)
        if backtest.status != BacktestStatus.DONE:
            raise CommandError(f"backtest {backtest.pk} ended {backtest.status}: {backtest.error}")

    def _wait(self, backtest: Backtest, advance: Any) -> Backtest:
        """Send the variants to the ``runs`` queue and show their counters until the backtest
        ends (Ctrl-C cancels it: the workers stop before their next slot)."""
        try:
            backtest_start(backtest)
        except TaskQueueUnavailableError as error:
            raise CommandError(str(error)) from error
        try:
            while True:
                backtest.refresh_from_db()
                for variant in backtest.variants.all():
                    advance(variant, variant.slots_done, variant.slots_total)
                if backtest.status != BacktestStatus.RUNNING:
                    return backtest
                clock.sleep(POLL_S)
        except KeyboardInterrupt:
            backtest_cancel(backtest=backtest)
            backtest.refresh_from_db()
            return backtest

    def _check_cost(self, estimate: Decimal, options: dict[str, Any]) -> None:
        """Print the estimate; refuse above ``--max-cost`` unless ``--yes``."""
        self.stdout.write(f"estimated LLM cost: {estimate:.6f} USD (no cache hits counted)")
        limit = options["max_cost"]
        if limit is not None and estimate > limit:
            if not options["yes"]:
                raise CommandError(
                    f"estimated cost {estimate:.6f} USD is above --max-cost {limit} USD "
                    "(pass --yes to start anyway)"
                )
            self.stdout.write(f"above --max-cost {limit} USD: starting anyway (--yes)")

    def _backtest(self, options: dict[str, Any]) -> Backtest:
        if options["resume"] is not None:
            backtest = Backtest.objects.filter(pk=options["resume"]).first()
            if backtest is None:
                raise CommandError(f"no backtest {options['resume']}")
            if backtest.status == BacktestStatus.DONE:
                self.stdout.write(f"backtest {backtest.pk} is done already: its summary")
                return backtest
            self._check_cost(backtest_remaining_cost_estimate(backtest), options)
            # a failed or cancelled backtest is made pending; its finished slots stay done
            backtest_reopen(backtest)
            return backtest
        if not (options["slug"] and options["start"] and options["end"]):
            raise CommandError("give SLUG --start … --end …, or --resume ID")
        strategy = Strategy.objects.filter(slug=options["slug"], backtest_of__isnull=True).first()
        if strategy is None:
            raise CommandError(f"no strategy with slug {options['slug']!r}")
        variants = [_variant(strategy, text, n) for n, text in enumerate(options["variant"], 1)]
        start, end = _moment(options["start"], end=False), _moment(options["end"], end=True)
        self._check_cost(
            backtest_cost_estimate(strategy=strategy, start=start, end=end, variants=variants),
            options,
        )
        backtest = backtest_create(
            strategy=strategy,
            start=start,
            end=end,
            variants=variants,
            llm_cache=options["llm_cache"],
            anonymise=options["anonymise"],
        )
        self.stdout.write(
            f"backtest {backtest.pk}: {backtest.variants.count()} variant(s), "
            f"{backtest.variants.values_list('slots_total', flat=True).first()} slots each, "
            f"LLM cache {backtest.llm_cache}" + (", anonymised" if backtest.anonymise else "")
        )
        return backtest
