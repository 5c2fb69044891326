"""``manage.py rebuild_positions [--account ID …]``: rebuild strategy positions from fills."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.orders.position_rebuild import positions_rebuild


class Command(BaseCommand):
    """Replay the stored fills (of the given accounts, or all) into strategy positions and
    write what differs from the stored state (``apps.orders.position_rebuild``); prints what
    changed, or that nothing did."""

    help = "Rebuild strategy positions, fills' realized P&L and orders' positions from fills."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--account ID`` (repeatable): only these trading accounts."""
        parser.add_argument(
            "--account",
            type=int,
            action="append",
            dest="accounts",
            help="Only this trading account's positions (repeatable); default: every account.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the rebuild and print its report."""
        report = positions_rebuild(account_ids=options["accounts"])
        self.stdout.write(f"fills replayed: {report.fills_replayed}")
        if not report.changed:
            self.stdout.write("nothing changed: the stored positions match the fills")
            return
        self.stdout.write(
            f"strategy positions: {report.positions_deleted} deleted, "
            f"{report.positions_created} created\n"
            f"fills updated: {report.fills_updated}\n"
            f"orders updated: {report.orders_updated}"
        )
