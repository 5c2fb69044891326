"""One long-lived ib_async connection per worker process, on an event loop of its own.

ib_async is asyncio code; Sibyl's workers are threads (Celery's ``runs`` pool) or processes.
So the ``IB`` client lives on a private event-loop thread and every caller hands it a coroutine
through ``IbkrConnection.call`` (thread-safe, with a timeout). The connection is made on first
use and re-made after a drop, with exponential backoff; after every (re)connect the registered
hooks run (Sibyl's reconciliation of orders and fills).

Error codes handled here (TWS API message codes): 326 (clientId already in use: the next id
is tried at once — TWS closes the socket after it, but ib_async would wait out the connect
timeout for an API start that never comes), 1100 (connectivity lost), 1101 / 1102
(restored, data lost / kept: hooks run again).
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from ib_async import IB, Contract, util

from apps.orders.brokers import BrokerUnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")
ConnectHook = Callable[["IbkrConnection"], Awaitable[None]]

CLIENT_ID_IN_USE = 326
CONNECTIVITY_LOST = 1100
CONNECTIVITY_RESTORED = (1101, 1102)
PAPER_ACCOUNT_PREFIXES = ("DU", "DF")


class IbkrConnectionError(BrokerUnavailableError):
    """TWS / IB Gateway could not be reached, refused us, or did not answer in time."""


@dataclass(frozen=True)
class IbkrConfig:
    """Where TWS / IB Gateway listens and how Sibyl connects (``IBKR_*`` settings).

    ``client_id`` is the first clientId tried; on error 326 the next ``client_id_tries - 1``
    ids are tried in turn, so several worker processes can share one setting.
    Timeouts and the reconnect cap are in seconds.
    """

    host: str
    port: int
    client_id: int
    client_id_tries: int
    account: str
    readonly: bool
    connect_timeout_s: float
    request_timeout_s: float
    reconnect_max_s: float

    @classmethod
    def from_settings(cls) -> "IbkrConfig":
        """The configuration from Django settings (see README, "Interactive Brokers")."""
        return cls(
            host=settings.IBKR_HOST,
            port=settings.IBKR_PORT,
            client_id=settings.IBKR_CLIENT_ID,
            client_id_tries=max(settings.IBKR_CLIENT_ID_TRIES, 1),
            account=settings.IBKR_ACCOUNT,
            readonly=settings.IBKR_READONLY,
            connect_timeout_s=settings.IBKR_CONNECT_TIMEOUT_S,
            request_timeout_s=settings.IBKR_REQUEST_TIMEOUT_S,
            reconnect_max_s=settings.IBKR_RECONNECT_MAX_S,
        )


def is_paper_account(account: str) -> bool:
    """IBKR paper-trading accounts start with ``DU`` (``DF`` for advisor paper masters)."""
    return account.upper().startswith(PAPER_ACCOUNT_PREFIXES)


def _drop_broken_db_connection() -> None:
    if db_connection.connection is not None and not db_connection.is_usable():
        db_connection.close()


def _claim_ib_async_loop() -> None:
    # ib_async remembers the first event loop it sees for the life of the process
    # (``util.getLoop`` is functools.cache'd): make it this connection's loop.
    util.getLoop.cache_clear()
    util.getLoop()


class IbkrConnection:
    """An ``ib_async.IB`` on a private event-loop thread, connected on demand. One per
    process at a time: ib_async keeps one event loop per process.

    ``call(fn)`` runs ``fn(ib)`` (a coroutine function) on that loop and returns its result;
    ``run_db(fn)`` runs blocking Django work on the one database thread, in submission order
    (event handlers use it so the loop never waits on the database). ``close()`` disconnects
    and stops both threads.
    """

    def __init__(self, config: IbkrConfig) -> None:
        self.config = config
        self.client_id: int | None = None
        self.account = ""
        self.connects = 0
        self.reconciliations = 0
        # Qualified contracts by listing (filled in by the broker; definitions outlive sessions).
        self.contracts: dict[tuple[int, str, str, str], Contract] = {}
        self._hooks: list[ConnectHook] = []
        self._closing = False
        self._reconnecting = False
        self._errors: list[tuple[int, str]] = []
        # Set by error 326 during a connect attempt (on the loop): that attempt is over.
        self._client_id_refused: asyncio.Event | None = None
        self._db = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ibkr-db")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="ibkr", daemon=True)
        self._thread.start()
        self._on_loop(_claim_ib_async_loop)
        self.ib: IB = self._on_loop(self._make_ib)
        self._lock = self._on_loop(asyncio.Lock)

    def _run_loop(self) -> None:
        # ib_async looks its loop up with get_event_loop(): it must be this thread's loop.
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _on_loop(self, factory: Callable[[], T]) -> T:
        async def make() -> T:
            return factory()

        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=10)

    def _make_ib(self) -> IB:
        ib = IB()
        ib.RequestTimeout = self.config.request_timeout_s
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected
        return ib

    @property
    def _address(self) -> tuple[str, int]:
        return self.config.host, self.config.port

    @property
    def is_paper(self) -> bool:
        """Whether the connected account is a paper-trading account (``DU…``)."""
        return is_paper_account(self.account)

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``await hook(self)`` on the loop after every successful (re)connect."""
        self._hooks.append(hook)

    def call(self, fn: Callable[[IB], Awaitable[T]], *, timeout: float | None = None) -> T:
        """Connect if needed, then ``await fn(ib)`` on the connection's loop.

        Must not be called from the loop thread itself. Raises IbkrConnectionError when TWS
        cannot be reached or the whole call takes longer than ``timeout`` seconds (default: the
        connect timeout plus the request timeout); ``fn``'s own exceptions propagate.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("IbkrConnection.call from its own event loop would deadlock")
        limit = timeout or self.config.connect_timeout_s + self.config.request_timeout_s
        future = asyncio.run_coroutine_threadsafe(self._call(fn), self._loop)
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError as error:
            future.cancel()
            raise IbkrConnectionError(f"no answer from TWS within {limit:.0f} s") from error

    async def _call(self, fn: Callable[[IB], Awaitable[T]]) -> T:
        await self.ensure_connected()
        return await fn(self.ib)

    async def qualified(self, contract: Contract) -> Contract | None:
        """``contract`` with every field TWS fills in (``reqContractDetails``), asked once per
        listing and process; None when TWS knows no unique contract. On the loop only."""
        key = (contract.conId, contract.symbol, contract.secType, contract.currency)
        if key not in self.contracts:
            [found] = await self.ib.qualifyContractsAsync(contract)
            if not isinstance(found, Contract) or not found.conId:
                return None
            self.contracts[key] = found
        return self.contracts[key]

    def run_db(self, fn: Callable[..., T], *args: Any) -> "concurrent.futures.Future[T]":
        """Run blocking ORM work ``fn(*args)`` on the connection's database thread.

        The thread keeps its database connection between jobs (a new one per event would
        cost more than the event's own work) and replaces it once it breaks.
        """

        def job() -> T:
            _drop_broken_db_connection()
            try:
                return fn(*args)
            except (InterfaceError, OperationalError):
                db_connection.close()
                raise

        return self._db.submit(job)

    async def ensure_connected(self) -> None:
        """Connect (once, for concurrent callers) unless already connected.

        Raises IbkrConnectionError if no clientId in the configured range is accepted.
        """
        if self.ib.isConnected():
            return
        async with self._lock:
            if not self.ib.isConnected():
                await self._connect()

    async def _connect(self) -> None:
        cfg = self.config
        last = ""
        for client_id in range(cfg.client_id, cfg.client_id + cfg.client_id_tries):
            self._errors.clear()
            try:
                await self._connect_as(client_id)
            except (OSError, TimeoutError, ConnectionError) as error:
                last = f"{type(error).__name__}: {error}"
                if self._client_id_taken():
                    logger.warning(
                        "IBKR clientId %s is in use (error 326); trying the next", client_id
                    )
                    continue
                raise IbkrConnectionError(
                    f"cannot connect to TWS/IB Gateway at {cfg.host}:{cfg.port}: {last}"
                ) from error
            await self._connected(client_id)
            return
        raise IbkrConnectionError(
            f"clientIds {cfg.client_id}..{cfg.client_id + cfg.client_id_tries - 1} are all in use"
            f" at {cfg.host}:{cfg.port} (error 326); set IBKR_CLIENT_ID to a free range ({last})"
        )

    async def _connect_as(self, client_id: int) -> None:
        """One ``connectAsync`` as ``client_id``, given up as soon as TWS answers error 326.

        Raises ConnectionError at once on error 326 (TWS closes the socket after it, but
        ib_async keeps waiting for the API start until the connect timeout: seconds lost per
        taken clientId), or what ``connectAsync`` raises (OSError, TimeoutError, ...).
        """
        cfg = self.config
        refused = self._client_id_refused = asyncio.Event()
        connect = asyncio.ensure_future(
            self.ib.connectAsync(
                cfg.host,
                cfg.port,
                clientId=client_id,
                timeout=cfg.connect_timeout_s,
                readonly=cfg.readonly,
                account=cfg.account,
            )
        )
        watch = asyncio.ensure_future(refused.wait())
        try:
            await asyncio.wait({connect, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._client_id_refused = None
            watch.cancel()
        if not connect.done():
            connect.cancel()  # ib_async disconnects the half-open client as it unwinds
            with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
                await connect
            raise ConnectionError(f"clientId {client_id} is already in use (error 326)")
        connect.result()

    def _client_id_taken(self) -> bool:
        return any(code == CLIENT_ID_IN_USE for code, _ in self._errors)

    async def _connected(self, client_id: int) -> None:
        self.client_id = client_id
        accounts = self.ib.managedAccounts()
        self.account = self.config.account or (accounts[0] if accounts else "")
        self.connects += 1
        logger.warning(
            "IBKR connected to %s:%s as clientId %s, account %s (%s)",
            self.config.host,
            self.config.port,
            client_id,
            self.account,
            "paper" if self.is_paper else "LIVE",
        )
        await self._run_hooks()

    async def _run_hooks(self) -> None:
        for hook in self._hooks:
            try:
                await hook(self)
            except Exception:  # a failed reconciliation must not drop the connection
                logger.exception("IBKR connect hook %s failed", getattr(hook, "__name__", hook))

    def _on_error(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        self._errors.append((code, message))
        if code == CLIENT_ID_IN_USE:
            logger.error("IBKR error 326: clientId already in use: %s", message)
            if self._client_id_refused is not None:
                self._client_id_refused.set()
        elif code == CONNECTIVITY_LOST:
            logger.error("IBKR error 1100: TWS lost connectivity to IB: %s", message)
        elif code in CONNECTIVITY_RESTORED:
            logger.warning("IBKR %s: connectivity restored: %s; reconciling", code, message)
            self._loop.create_task(self._run_hooks())

    def _on_disconnected(self) -> None:
        if self._closing or self._reconnecting:
            return
        logger.error(
            "IBKR connection to %s:%s lost; reconnecting", self.config.host, self.config.port
        )
        self._reconnecting = True
        self._loop.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.05
        try:
            while not self._closing:
                try:
                    await self.ensure_connected()
                    return
                except IbkrConnectionError as error:
                    logger.warning("IBKR reconnect failed (%s); next try in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_s)
        finally:
            self._reconnecting = False

    def disconnect(self) -> None:
        """Drop the socket without closing: the next ``call`` (or the reconnect loop) reconnects.
        For trials and tests of the reconnect path."""
        self._on_loop(self.ib.disconnect)

    def close(self) -> None:
        """Disconnect for good and stop the loop and database threads."""
        self._closing = True
        if self._thread.is_alive():
            self._on_loop(self.ib.disconnect)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            util.getLoop.cache_clear()
        self._db.submit(db_connection.close)
        self._db.shutdown(wait=True)
