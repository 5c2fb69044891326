"""``manage.py rebuild_positions [--account ID …]``: rebuild strategy positions from fills."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from apps.orders.position_rebuild import positions_rebuild
from apps.positions.models import StrategyPosition


class Command(BaseCommand):
    """Replay the stored fills (of the given accounts, or all) into strategy positions and
    write what differs from the stored state (``apps.orders.position_rebuild``); prints what
    changed, or that nothing did. After replacing positions it refreshes the table's planner
    statistics (``ANALYZE``), so the API's reads do not plan for the old rows."""

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
        if report.positions_created or report.positions_deleted:
            with connection.cursor() as cursor:  # fresh planner statistics for the API's reads
                cursor.execute(f"ANALYZE {StrategyPosition._meta.db_table}")
        self.stdout.write(
            f"strategy positions: {report.positions_deleted} deleted, "
            f"{report.positions_created} created\n"
            f"fills updated: {report.fills_updated}\n"
            f"orders updated: {report.orders_updated}"
        )
