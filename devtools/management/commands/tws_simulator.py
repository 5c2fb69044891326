"""manage.py tws_simulator — run the TWS API simulator for manual trials with ib_async."""

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from devtools.tws_simulator import TwsSimulator


def parse_price(text: str) -> tuple[int, Decimal]:
    """``CONID=PRICE`` (e.g. ``208813720=801.5``) -> (conId, price). Raises CommandError."""
    con_id, _, price = text.partition("=")
    try:
        return int(con_id), Decimal(price)
    except (ValueError, InvalidOperation) as error:
        raise CommandError(f"--price expects CONID=PRICE, got {text!r}") from error


class Command(BaseCommand):
    """Serve ``TwsSimulator`` on ``--host``/``--port`` (prints the bound address) until
    Ctrl-C; ``--price CONID=PRICE`` (repeatable) overrides a start price."""

    help = "Serve the TWS API simulator (server version 157, account DU123456) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        """``--host`` (127.0.0.1), ``--port`` (7497; 0 = free port), ``--price CONID=PRICE``."""
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=7497, help="0 picks a free port")
        parser.add_argument(
            "--price",
            action="append",
            default=[],
            metavar="CONID=PRICE",
            help="start price of a contract (default: last close of its shipped bars)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the simulator in this process until interrupted. Raises CommandError for a
        malformed ``--price``."""
        prices = dict(parse_price(text) for text in options["price"])
        try:
            asyncio.run(self._serve(options["host"], options["port"], prices))
        except KeyboardInterrupt:
            self.stdout.write("TWS simulator stopped")

    async def _serve(self, host: str, port: int, prices: dict[int, Decimal]) -> None:
        simulator = TwsSimulator(host, port, prices)
        await simulator.start()
        self.stdout.write(f"TWS simulator listening on {simulator.host}:{simulator.port}")
        self.stdout.flush()
        await simulator.serve_forever()
