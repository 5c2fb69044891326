"""Broker news into the database as it happens: ib_async events -> Order, Fill, strategy positions.

Handlers run on the connection's event loop and only snapshot the event; the database work
goes to the connection's one database thread, in arrival order. Each execution is recorded
once, by execId (``orders_apply``); a fill is recorded when its commission report arrives
(TWS sends it right after execDetails), or later by a poll or reconciliation if it was lost.
"""

import asyncio
import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from django.utils import timezone
from ib_async import Fill, Position, Trade

from apps.ibkr.broker import executions_for, ibkr_positions, refresh, state_of
from apps.ibkr.connection import IbkrConnection
from apps.ibkr.mapping import execution_of
from apps.orders.brokers import BrokerOrderState, Execution
from apps.orders.modification import modifications_read_back
from apps.orders.monitor import accounts_to_reconcile
from apps.orders.run_notes import runs_note
from apps.orders.services import orders_apply, orders_reconcile
from apps.positions.reconciliation import account_positions_reconcile

logger = logging.getLogger(__name__)

BROKER_NAME = "ibkr"


def record_news(states: list[BrokerOrderState], executions: list[Execution]) -> None:
    """Apply broker news (sync ORM; the database thread) and note on each finished run whose
    orders changed what changed for that run alone (``runs_note``: a ``broker`` step)."""
    report = orders_apply(states=states, executions=executions)
    runs_note(name="broker", news=report.runs)


class NewsFilter:
    """Lets through only news that can change the database: an order state that differs from
    the last one let through for its reference, an execution id not let through before.

    TWS repeats itself (PreSubmitted then Submitted are both "submitted"; every
    reqExecutions replays the day's executions and commission reports); without this each
    repeat would cost a database transaction on the hot path. Remembers at most ``limit``
    references and execution ids (oldest forgotten first). Used on the event loop only.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._states: OrderedDict[str, BrokerOrderState] = OrderedDict()
        self._executions: OrderedDict[str, None] = OrderedDict()

    def _remember(self, memory: "OrderedDict[str, Any]", key: str, value: Any) -> None:
        memory[key] = value
        memory.move_to_end(key)
        if len(memory) > self.limit:
            memory.popitem(last=False)

    def new_state(self, state: BrokerOrderState) -> bool:
        """True (and remembered) if ``state`` differs from the last one for its reference in
        what the database records from it (id, status, reason): the values a modification
        changed are recorded by the modification itself (``apps.orders.modification``)."""
        news = replace(state, quantity=None, limit_price=None, stop_price=None)
        if self._states.get(state.client_order_ref) == news:
            return False
        self._remember(self._states, state.client_order_ref, news)
        return True

    def new_execution(self, execution: Execution) -> bool:
        """True (and remembered) the first time an execution id is seen."""
        if execution.execution_id in self._executions:
            return False
        self._remember(self._executions, execution.execution_id, None)
        return True


def _log_failure(future: "Future[None]") -> None:
    error = future.exception()
    if error is not None:  # the next poll or reconciliation records it instead
        logger.error("IBKR events could not be recorded", exc_info=error)


class NewsBatcher:
    """Queues broker news from the event loop and records it on the database thread, all
    that has queued up in one transaction: a burst of events (a bracket's three
    acknowledgements, a fill with its status) costs one commit, not one each."""

    def __init__(self, connection: IbkrConnection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._states: list[BrokerOrderState] = []
        self._executions: list[Execution] = []
        self._scheduled = False

    def add(self, *, states: list[BrokerOrderState], executions: list[Execution]) -> None:
        """Queue news; schedules a drain on the database thread unless one is pending."""
        with self._lock:
            self._states += states
            self._executions += executions
            schedule, self._scheduled = not self._scheduled, True
        if schedule:
            self._connection.run_db(self._drain).add_done_callback(_log_failure)

    def _drain(self) -> None:
        with self._lock:
            states, executions = self._states, self._executions
            self._states, self._executions, self._scheduled = [], [], False
        record_news(states, executions)


def attach_recorders(connection: IbkrConnection) -> None:
    """Record order statuses and fills from ``connection``'s events as they arrive
    (each distinct state and each execution once per process; see ``NewsFilter``)."""
    news = NewsFilter()
    batcher = NewsBatcher(connection)

    def on_status(trade: Trade) -> None:
        state = state_of(connection.ib, trade)
        if trade.order.orderRef and news.new_state(state):
            batcher.add(states=[state], executions=[])

    def on_commission(trade: Trade, fill: Fill, report: object) -> None:
        execution = execution_of(fill)
        if fill.execution.orderRef and news.new_execution(execution):
            batcher.add(states=[], executions=[execution])

    connection.ib.orderStatusEvent += on_status
    connection.ib.commissionReportEvent += on_commission


def reconcile(
    states: list[BrokerOrderState], executions: list[Execution]
) -> dict[str, list[str] | int]:
    """Reconcile Sibyl's unfinished IBKR orders with what IBKR holds (sync ORM); each run it
    changed gets a ``reconcile`` step with its own figures. Modifications whose answer was lost
    are acknowledged when IBKR holds their values (``modifications_read_back``). Returns the
    batch-wide summary (for the log)."""
    report = orders_reconcile(
        broker_name=BROKER_NAME, states=states, executions=executions, now=timezone.now()
    )
    runs_note(name="reconcile", news=report.runs)
    read_back = modifications_read_back(broker_name=BROKER_NAME, states=states)
    return {
        "modifications_read_back": len(read_back),
        "adopted": report.adopted,
        "new_fills": report.new_fills,
        "status_changes": report.status_changes,
        "unknown_at_broker": report.unknown_at_broker,
    }


async def reconcile_on_connect(connection: IbkrConnection) -> None:
    """Connect hook: load all open orders and today's executions, match them to Sibyl's
    orders by orderRef (adopt, record missed fills, flag orders IBKR does not know)."""
    ib = connection.ib
    await refresh(ib)
    states = [state_of(ib, t) for t in ib.trades() if t.order.orderRef]
    refs = {f.execution.orderRef for f in ib.fills() if f.execution.orderRef}
    executions = executions_for(ib, refs)
    summary = await asyncio.wrap_future(connection.run_db(reconcile, states, executions))
    connection.reconciliations += 1
    flagged = summary["unknown_at_broker"]
    assert isinstance(flagged, list)
    logger.warning(
        "IBKR reconciliation after connect: adopted %s, %s new fill(s), %s status change(s), "
        "%s order(s) newly flagged as unknown to IBKR%s",
        summary["adopted"],
        summary["new_fills"],
        summary["status_changes"],
        len(flagged),
        f" (first: {', '.join(flagged[:5])})" if flagged else "",
    )


def reconcile_positions(held: list[Position]) -> list[str]:
    """Reconcile every IBKR account Sibyl trades (``accounts_to_reconcile``) with the positions
    IBKR reported (``held``, from reqPositions; sync ORM, the database thread). Returns one
    line per mismatch (unattributed quantity, flagged; strategy positions are not changed)."""
    lines = []
    now = timezone.now()
    for account in accounts_to_reconcile(broker=BROKER_NAME):
        result = account_positions_reconcile(
            account_id=account.pk, positions=ibkr_positions(held, account.broker_key), now=now
        )
        lines += [
            f"account {account.pk} ({account.broker_key}) {m.describe()}" for m in result.mismatches
        ]
    return lines


async def reconcile_positions_on_connect(connection: IbkrConnection) -> None:
    """Connect hook (after ``reconcile_on_connect``): load IBKR's positions and reconcile them
    with the strategies' (``reconcile_positions``); mismatches are logged as warnings."""
    held = list(await connection.ib.reqPositionsAsync())
    lines = await asyncio.wrap_future(connection.run_db(reconcile_positions, held))
    for line in lines:
        logger.warning("IBKR position mismatch after connect: %s", line)
