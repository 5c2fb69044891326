"""The simulator's TCP server (shared state and message routing) and a helper that runs it in a
background thread.

``TwsSimulator`` owns what a TWS keeps across connections: the ``OrderBook`` (orders,
executions, positions, prices, next order id), the armed ``Faults`` and the placeOrder counts
per orderRef. Each connection is a ``Session``; order messages go to the connection(s) of the
order's clientId, position updates to connections that called reqPositions.
All methods except ``start``/``stop``/``serve_forever`` are synchronous and must run on the
simulator's event loop (``SimulatorHandle`` marshals calls from other threads).
"""

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal

from devtools.tws_simulator.faults import Faults
from devtools.tws_simulator.handle import SimulatorHandle
from devtools.tws_simulator.history import last_close
from devtools.tws_simulator.instruments import INSTRUMENTS
from devtools.tws_simulator.order_messages import (
    commission_report_fields,
    exec_details_fields,
    position_fields,
)
from devtools.tws_simulator.orders import (
    ACCOUNT,
    PART_DELAY,
    CommissionEvent,
    ErrorEvent,
    Event,
    ExecutionEvent,
    OrderBook,
    OrderEvent,
    PositionEvent,
)
from devtools.tws_simulator.session import Session


def default_prices() -> dict[int, Decimal]:
    """conId -> last close of the instrument's shipped bars (instrument currency)."""
    prices: dict[int, Decimal] = {}
    for instrument in INSTRUMENTS:
        price = last_close(instrument)
        if price is not None:
            prices[instrument.con_id] = price
    return prices


class TwsSimulator:
    """A TWS API server speaking server version 157 for account DU123456. ``start()`` binds
    ``host:port`` (port 0 = ephemeral; the bound one is in ``port``), ``stop()`` closes
    everything. ``prices`` overrides the default market prices (conId -> price)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, prices: Mapping[int, Decimal] | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.book = OrderBook(INSTRUMENTS, {**default_prices(), **(prices or {})})
        self.faults = Faults()
        self.place_counts: Counter[str] = Counter()
        # The accounts the login manages, sent as managedAccounts at every startApi.
        self.managed_accounts: tuple[str, ...] = (ACCOUNT,)
        self.sessions: set[Session] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._parts_timer: asyncio.TimerHandle | None = None

    # --- connections ----------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer, self)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except asyncio.CancelledError:
            pass  # stop(): the connection handler ends here, nothing to propagate to
        finally:
            if task is not None:
                self._tasks.discard(task)

    def unregister(self, session: Session) -> None:
        """Forget a closed session (called by ``Session.close``)."""
        self.sessions.discard(session)

    def client_id_in_use(self, client_id: int, asking: Session) -> bool:
        """True if another open connection has done startApi with ``client_id``."""
        return any(s is not asking and s.client_id == client_id for s in self.sessions)

    def disconnect_all(self) -> None:
        """Close every client connection now (the book and the server socket stay)."""
        for session in list(self.sessions):
            session.close()

    def count_place(self, order_ref: str) -> None:
        """Count one placeOrder message carrying ``order_ref``."""
        self.place_counts[order_ref] += 1

    # --- order events ---------------------------------------------------------------------

    def route(self, events: list[Event]) -> None:
        """Send the messages for book events: order/execution/commission/error messages to
        the connections of the event's clientId, positions to subscribed connections; then
        schedule the next part of a split fill if one is waiting."""
        for event in events:
            if isinstance(event, PositionEvent):
                for session in list(self.sessions):
                    if session.positions_subscribed:
                        session.send(position_fields(event.position.account, event.position))
                continue
            for session in self._client_sessions(self._client_of(event)):
                if isinstance(event, OrderEvent):
                    session.send_order(event.order)
                elif isinstance(event, ExecutionEvent):
                    session.send(exec_details_fields(-1, event.execution))
                elif isinstance(event, CommissionEvent):
                    session.send(commission_report_fields(event.execution))
                else:
                    session.send_error(event.req_id, event.code, event.message)
        self._schedule_parts()

    @staticmethod
    def _client_of(event: OrderEvent | ExecutionEvent | CommissionEvent | ErrorEvent) -> int:
        if isinstance(event, OrderEvent):
            return event.order.client_id
        if isinstance(event, ErrorEvent):
            return event.client_id
        return event.execution.client_id

    def _client_sessions(self, client_id: int) -> list[Session]:
        return [s for s in list(self.sessions) if s.client_id == client_id]

    def _schedule_parts(self) -> None:
        if self._parts_timer is not None or not self.book.has_waiting_parts:
            return
        loop = asyncio.get_running_loop()
        self._parts_timer = loop.call_later(PART_DELAY, self._continue_parts)

    def _continue_parts(self) -> None:
        self._parts_timer = None
        self.route(self.book.continue_fills())

    def set_price(self, con_id: int, price: Decimal) -> None:
        """Move the market price of ``con_id`` and send the resulting order messages.
        Raises ``KeyError`` (unknown conId) / ``ValueError`` (price <= 0)."""
        self.route(self.book.set_price(con_id, Decimal(price)))

    def manual_trade(
        self, con_id: int, side: str, quantity: Decimal, price: Decimal, account: str = ACCOUNT
    ) -> None:
        """Book a trade made by hand in TWS (``OrderBook.manual_trade``) and send its
        messages: executions to clientId 0 connections, the position to subscribers."""
        self.route(self.book.manual_trade(con_id, side, quantity, price, account))

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and listen; afterwards ``port`` holds the bound port."""
        self._server = await asyncio.start_server(self._on_client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop open client connections."""
        if self._parts_timer is not None:
            self._parts_timer.cancel()
            self._parts_timer = None
        if self._server is not None:
            self._server.close()
            self.disconnect_all()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=1)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

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
def running_simulator(
    host: str = "127.0.0.1", port: int = 0, prices: Mapping[int, Decimal] | None = None
) -> Iterator[SimulatorHandle]:
    """Run a ``TwsSimulator`` in a background thread with its own event loop; yields a
    ``SimulatorHandle`` (``.host``, ``.port``, ``.address`` and thread-safe control methods)
    and stops the server and the thread on exit."""
    loop = asyncio.new_event_loop()
    simulator = TwsSimulator(host, port, prices)
    started = False

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    thread = threading.Thread(target=run, name="tws-simulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(simulator.start(), loop).result(timeout=10)
        started = True
        yield SimulatorHandle(simulator, loop, thread)
    finally:
        if started:
            asyncio.run_coroutine_threadsafe(simulator.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
