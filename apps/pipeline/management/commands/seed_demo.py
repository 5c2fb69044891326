"""manage.py seed_demo [--runs] [--owner USERNAME] [--if-empty] — the demo's strategies, the
shipped real bars, and optionally the demo's runs and a user to sign in with."""

import os
import secrets
from argparse import ArgumentParser
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from apps.analysis.models import PromptTemplate
from apps.common.decimals import plain
from apps.lineage.models import Run, RunStatus, RunTrigger
from apps.pipeline.executor import strategy_run
from apps.pipeline.report import run_report
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.trading.models import Account
from apps.trading.services import account_default_for

DEMO_BARS = (
    ("GOOG_1d.csv", "GOOG", "1 day", "STK", "USD"),
    ("EURUSD_1h.csv", "EUR", "1 hour", "CASH", "USD"),
)
# Each run is (strategy slug, as-of UTC): a winning and a losing GOOG trade, a signal the
# stricter strategy rejects, a EUR/USD trade and a HOLD, then two GOOG strategies holding their
# own positions on one account (README, "What make demo shows").
DEMO_RUNS = (
    ("goog-daily-swing", datetime(2010, 1, 15, 21, 30, tzinfo=UTC)),
    ("goog-daily-swing", datetime(2012, 5, 31, 20, 30, tzinfo=UTC)),
    ("goog-daily-strict", datetime(2012, 5, 31, 20, 30, tzinfo=UTC)),
    ("eurusd-hourly-momentum", datetime(2017, 10, 2, 12, 0, tzinfo=UTC)),
    ("eurusd-hourly-momentum", datetime(2017, 6, 1, 9, 0, tzinfo=UTC)),
    # Two strategies holding GOOG on one paper account at once, each its own position.
    ("goog-daily-swing", datetime(2013, 2, 6, 21, 30, tzinfo=UTC)),
    ("goog-daily-trend", datetime(2013, 2, 11, 21, 30, tzinfo=UTC)),
)
DEMO_SLUGS = sorted({slug for slug, _ in DEMO_RUNS})


def positions_report() -> str:
    """Every account's strategy positions (open ones first, then closed lifetimes with their
    P&L) and, per symbol, the account's net: the sum of its strategies' open positions."""
    lines = []
    for account in Account.objects.order_by("pk"):
        positions = list(
            StrategyPosition.objects.filter(account=account)
            .select_related("strategy", "symbol")
            .order_by("symbol__symbol", "status", "opened_at", "pk")
        )
        if not positions:
            continue
        lines.append(f"account {account.name} ({account.kind}, {account.position_mode}):")
        net: dict[str, Decimal] = {}
        for p in positions:
            signed = p.quantity if p.side == "LONG" else -p.quantity
            if p.status == "open":
                net[p.symbol.symbol] = net.get(p.symbol.symbol, Decimal(0)) + signed
                lines.append(
                    f"  {p.symbol.symbol} {p.strategy.slug}: open {p.side} {plain(p.quantity)} "
                    f"at average cost {plain(p.average_cost)}"
                )
            else:
                r = f", R {p.r_multiple:+.2f}" if p.r_multiple is not None else ""
                lines.append(
                    f"  {p.symbol.symbol} {p.strategy.slug}: closed {p.side} "
                    f"{plain(p.exit_quantity)} {plain(p.entry_price or Decimal(0))} → "
                    f"{plain(p.exit_price or Decimal(0))}, "
                    f"realized P&L {p.realized_pnl:+.2f} {p.symbol.currency} ({p.outcome}{r})"
                )
        for symbol, quantity in sorted(net.items()):
            lines.append(f"  {symbol} account net (sum of its strategies): {plain(quantity)}")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = (
        "Apply demo/strategies.yaml and import the shipped bars (data/bars/); with --runs, run "
        "the demo's five runs; with --owner, give the demo strategies to that staff user."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--runs", action="store_true", help="run the five demo runs, printed step by step"
        )
        parser.add_argument(
            "--owner",
            metavar="USERNAME",
            help="staff user owning the demo strategies, created if missing with the password "
            "in SIBYL_DEMO_PASSWORD, or a random one that is printed",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already holds strategies or runs (a server's "
            "own data is never mixed with the demo's)",
        )
        parser.add_argument(
            "--allow-failed-runs",
            action="store_true",
            help="exit 0 even when a demo run fails because of what the model answered (a local "
            "model's answers often do); a run whose model was never reached still fails",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and (Run.objects.exists() or Strategy.objects.exists()):
            self.stdout.write("seed_demo: the database already holds strategies; left as it is")
            return
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
        if options["owner"]:
            self._give_to(options["owner"])
        if options["runs"]:
            self._run_all(allow_failed=options["allow_failed_runs"])

    def _give_to(self, username: str) -> None:
        """The demo strategies and their templates belong to ``username``, a staff user created
        when missing with the password in ``SIBYL_DEMO_PASSWORD`` or, without it, a random one
        printed once (a known default password would open every strategy to anyone reaching
        the server)."""
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True}
        )
        if created:
            password = os.environ.get("SIBYL_DEMO_PASSWORD") or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            shown = (
                "from SIBYL_DEMO_PASSWORD" if os.environ.get("SIBYL_DEMO_PASSWORD") else password
            )
            self.stdout.write(f"user {username} created; sign in with password: {shown}")
        # They trade the user's default paper account (an account is traded by its owner).
        Strategy.objects.filter(slug__in=DEMO_SLUGS).update(
            owner=user, account=account_default_for(owner=user)
        )
        # Their templates go with them (a strategy uses its owner's templates), unless the user
        # already has a template of that name.
        names = PromptTemplate.objects.filter(owner=None, strategies__slug__in=DEMO_SLUGS)
        for name in set(names.values_list("name", flat=True)):
            if not PromptTemplate.objects.filter(owner=user, name=name).exists():
                PromptTemplate.objects.filter(owner=None, name=name).update(owner=user)

    def _run_all(self, *, allow_failed: bool) -> None:
        """Run each demo run inline; raises ``CommandError`` naming the failed runs. With
        ``allow_failed``, a run that failed on the model's answer (the model answered: an
        ``LlmCall`` with completion tokens) is excused, but not one whose model was never reached
        (a dead or unreachable server must not pass as a demo of bad answers)."""
        failed = []
        for slug, as_of in DEMO_RUNS:
            strategy = Strategy.objects.get(slug=slug)
            run = strategy_run(strategy=strategy, as_of=as_of, trigger=RunTrigger.MANUAL)
            self.stdout.write(run_report(run) + "\n")
            if run.status == RunStatus.SUCCEEDED:
                continue
            model_answered = run.llm_calls.filter(completion_tokens__gt=0).exists()
            if not (allow_failed and model_answered):
                reason = "" if model_answered else " (the model was never reached)"
                failed.append(f"run {run.pk} ({slug}){reason}: {run.error_message}")
        self.stdout.write(positions_report())
        if failed:
            raise CommandError("demo runs failed: " + "; ".join(failed))
