"""``manage.py close_positions --account ID [--symbol TICKER] [--strategy SLUG] --note "..."
[--user USERNAME] [--yes]``: a person's close-all from the command line."""

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from apps.common.decimals import plain
from apps.orders.models import ACTIVE_ORDER_STATUSES, Order, OrderReason, OrderStatus
from apps.orders.position_actions import CloseAllReport, positions_close_all
from apps.positions.models import PositionStatus, StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account

# Orders that may still fill or be sent: what a close-all cancels or leaves to a close.
WORKING = (OrderStatus.PENDING, OrderStatus.SUBMITTING, *ACTIVE_ORDER_STATUSES)


class Command(BaseCommand):
    """Close every open strategy position in a scope (an account, narrowed to a symbol and/or
    a strategy) and cancel its working entries (``positions_close_all``, kind ``person``,
    market time now). Prints the positions and working orders in the scope first and asks
    for confirmation unless ``--yes``; then prints the report (cancelled orders, each close
    with its exit, failures). Exits non-zero (CommandError) when anything failed or the
    scope is unknown."""

    help = "Close the open strategy positions of an account (or one symbol / strategy of it)."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--account ID`` (required), ``--symbol TICKER``, ``--strategy SLUG``, ``--note``,
        ``--user USERNAME`` (who asks; default none: the operator) and ``--yes``."""
        parser.add_argument("--account", type=int, required=True, help="Trading account id.")
        parser.add_argument("--symbol", help="Only this ticker's positions and orders.")
        parser.add_argument("--strategy", help="Only this strategy's (slug) positions and orders.")
        parser.add_argument("--note", required=True, help="Why: kept on the position actions.")
        parser.add_argument("--user", help="Username of who asks (recorded as requested_by).")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Resolve the scope, show it, confirm, close, report."""
        account = Account.objects.filter(pk=options["account"]).first()
        if account is None:
            raise CommandError(f"no trading account {options['account']}")
        strategy = self._strategy(account, options["strategy"])
        symbol = self._symbol(account, options["symbol"])
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        if not self._show_scope(account, strategy, symbol):
            self.stdout.write("nothing to close: no open position or working order in the scope")
            return
        if not options["yes"] and input("Close these? [y/N] ").strip().lower() not in ("y", "yes"):
            raise CommandError("not confirmed: nothing was closed")
        report = positions_close_all(
            account=account,
            kind=OrderReason.PERSON,
            market_time=timezone.now(),
            strategy=strategy,
            symbol_id=symbol.pk if symbol else None,
            requested_by=user,
            note=options["note"],
        )
        self._report(report)
        if report.errors:
            raise CommandError(f"close-all {report.action.pk}: {len(report.errors)} failed")

    @staticmethod
    def _strategy(account: Account, slug: str | None) -> Strategy | None:
        if not slug:
            return None
        strategy = Strategy.objects.filter(slug=slug).first()
        if strategy is None:
            raise CommandError(f"no strategy {slug!r}")
        on_account = (
            strategy.account_id == account.pk or strategy.positions.filter(account=account).exists()
        )
        if not on_account:
            raise CommandError(f"strategy {slug!r} does not trade on account {account.pk}")
        return strategy

    @staticmethod
    def _symbol(account: Account, ticker: str | None) -> Symbol | None:
        if not ticker:
            return None
        # The ticker among the symbols the account trades (a ticker may list in two currencies).
        traded = Q(pk__in=Order.objects.filter(account=account).values("symbol_id")) | Q(
            pk__in=StrategyPosition.objects.filter(account=account).values("symbol_id")
        )
        matches = list(Symbol.objects.filter(traded, symbol__iexact=ticker))
        if not matches:
            raise CommandError(f"account {account.pk} trades no symbol {ticker!r}")
        if len(matches) > 1:
            raise CommandError(f"{ticker!r} is ambiguous on account {account.pk}: {matches}")
        return matches[0]

    def _show_scope(
        self, account: Account, strategy: Strategy | None, symbol: Symbol | None
    ) -> bool:
        scope = Q(account=account)
        if strategy is not None:
            scope &= Q(strategy=strategy)
        if symbol is not None:
            scope &= Q(symbol=symbol)
        positions = list(
            StrategyPosition.objects.filter(scope, status=PositionStatus.OPEN)
            .select_related("strategy", "symbol")
            .order_by("pk")
        )
        orders = list(
            Order.objects.filter(scope, status__in=WORKING)
            .select_related("strategy", "symbol")
            .order_by("pk")
        )
        what = f"account {account.pk} ({account.name})"
        if strategy is not None:
            what += f", strategy {strategy.slug}"
        if symbol is not None:
            what += f", symbol {symbol.symbol}"
        self.stdout.write(f"Scope: {what}")
        self.stdout.write(f"Open positions ({len(positions)}):")
        for p in positions:
            self.stdout.write(
                f"  #{p.pk} {p.strategy.slug} {p.side} {plain(p.quantity)} {p.symbol.symbol} "
                f"@ {plain(p.average_cost)} {p.symbol.currency}"
            )
        self.stdout.write(f"Working orders ({len(orders)}):")
        for o in orders:
            price = o.stop_price if o.stop_price is not None else o.limit_price
            self.stdout.write(
                f"  #{o.pk} {o.client_order_ref} {o.strategy.slug} {o.role} {o.side} "
                f"{plain(o.quantity)} {o.symbol.symbol} {o.order_type}"
                + (f" {plain(price)}" if price is not None else "")
                + f" ({o.status})"
            )
        return bool(positions or orders)

    def _report(self, report: CloseAllReport) -> None:
        action = report.action
        action.refresh_from_db()
        self.stdout.write(f"Close-all {action.pk}: {action.status}")
        for ref in report.cancelled:
            self.stdout.write(f"  cancelled {ref}")
        for close in report.closes:
            for order in close.orders.order_by("pk"):
                self.stdout.write(
                    f"  position #{close.strategy_position_id}: close {close.pk} {close.status}, "
                    f"{order.side} {plain(order.quantity)} {order.order_type} ({order.status})"
                )
            if close.detail.get("flat_before_close"):
                self.stdout.write(
                    f"  position #{close.strategy_position_id}: flat before the close was sent"
                )
        for busy in action.detail.get("already_closing", []):
            self.stdout.write(f"  already closing: {busy}")
        for error in report.errors:
            self.stderr.write(f"  failed: {error}")
