"""The simulator's TCP server and a helper that runs it in a background thread.

``TwsSimulator`` is an asyncio server on loopback; each connection gets a ``Session``.
Blocking Django ORM work runs in a small thread pool so the event loop never touches the DB.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from apps.ibkr.simulator.session import Session


class TwsSimulator:
    """A TWS API server speaking server version 157. ``start()`` binds ``host:port``
    (port 0 = ephemeral; the bound one is in ``port``), ``stop()`` closes everything."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.next_order_id = 1
        self._server: asyncio.Server | None = None
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tws-sim-db")
        self._tasks: set[asyncio.Task[None]] = set()

    async def _run_sync(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer, self._run_sync, self.next_order_id)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def start(self) -> None:
        """Bind and listen; afterwards ``port`` holds the bound port."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, drop open client connections, shut the DB worker pool down."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        self._executor.shutdown(wait=True)

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.stop()


@contextmanager
def running_simulator(host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, int]]:
    """Run a ``TwsSimulator`` in a background thread with its own event loop; yields the
    bound ``(host, port)`` and stops the server and the thread on exit."""
    loop = asyncio.new_event_loop()
    simulator = TwsSimulator(host, port)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, name="tws-simulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(simulator.start(), loop).result(timeout=10)
        ready.set()
        yield simulator.host, simulator.port
    finally:
        if ready.is_set():
            asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
