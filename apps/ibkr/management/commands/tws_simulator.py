"""manage.py tws_simulator — run the TWS API simulator for manual trials with ib_async."""

import asyncio
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ibkr.simulator import TwsSimulator


class Command(BaseCommand):
    help = "Serve the TWS API simulator (server version 157, account DU123456) until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=7497, help="0 picks a free port")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            asyncio.run(self._serve(options["host"], options["port"]))
        except KeyboardInterrupt:
            self.stdout.write("TWS simulator stopped")

    async def _serve(self, host: str, port: int) -> None:
        simulator = TwsSimulator(host, port)
        await simulator.start()
        self.stdout.write(f"TWS simulator listening on {simulator.host}:{simulator.port}")
        self.stdout.flush()
        await simulator.serve_forever()
