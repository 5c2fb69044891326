"""``manage.py trading_state``: show or set the kill switch (global or per account).

    manage.py trading_state                                   # show every state
    manage.py trading_state halted --reason "broker outage"   # the global state
    manage.py trading_state reducing --account 7 --reason "daily loss"

Setting needs a reason; the change is recorded with source ``command`` (apps.trading.trading_state).
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.trading.models import Account, TradingState
from apps.trading.trading_state import (
    effective_trading_state,
    global_trading_state,
    trading_state_set,
)


class Command(BaseCommand):
    help = "Show the trading states, or set the global one or an account's (with --reason)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("state", nargs="?", choices=TradingState.values)
        parser.add_argument("--account", type=int, help="account id (default: the global state)")
        parser.add_argument("--reason", default="", help="why (required when setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        state, account_id, reason = options["state"], options["account"], options["reason"]
        account = None
        if account_id is not None:
            account = Account.objects.filter(pk=account_id).first()
            if account is None:
                raise CommandError(f"no account {account_id}")
        if state is not None:
            if not reason.strip():
                raise CommandError("--reason is required to change a trading state")
            change = trading_state_set(
                state=state, reason=reason, source="command", account=account
            )
            scope = f"account {account.pk} ({account.name})" if account else "global"
            self.stdout.write(f"{scope}: {change.previous} → {change.state} ({change.reason})")
            return
        latest = global_trading_state()
        self.stdout.write(
            f"global: {latest.state if latest else TradingState.ACTIVE}"
            + (f" ({latest.reason})" if latest else "")
        )
        accounts = Account.objects.filter(paper_clock__isnull=True).order_by("pk")
        if account is not None:
            accounts = accounts.filter(pk=account.pk)
        for row in accounts:
            effective = effective_trading_state(account_id=row.pk)
            applies = "" if effective.scope == "account" else f", applies: {effective.state}"
            self.stdout.write(f"account {row.pk} ({row.name}): {row.trading_state}{applies}")
