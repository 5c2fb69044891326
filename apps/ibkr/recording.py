"""Broker news into the database as it happens: ib_async events -> Order, Fill, Position.

Handlers run on the connection's event loop and only snapshot the event; the database work
goes to the connection's one database thread, in arrival order. Each execution is recorded
once, by execId (``orders_apply``); a fill is recorded when its commission report arrives
(TWS sends it right after execDetails), or later by a poll or reconciliation if it was lost.
"""

import asyncio
import logging
from collections.abc import Mapping

from django.db import IntegrityError
from django.utils import timezone
from ib_async import Fill, Trade

from apps.ibkr.broker import executions_for, refresh
from apps.ibkr.connection import IbkrConnection
from apps.ibkr.mapping import execution_of, order_state
from apps.lineage.models import Run, RunStatus
from apps.lineage.services import step_append
from apps.orders.brokers import BrokerOrderState, Execution
from apps.orders.models import Order
from apps.orders.services import orders_apply, orders_reconcile

logger = logging.getLogger(__name__)

BROKER_NAME = "ibkr"


def _note_on_runs(refs: set[str], name: str, output: Mapping[str, object]) -> None:
    """Append a lineage step to each finished run owning one of ``refs`` (a running run's
    order step reports its own orders)."""
    run_ids = set(Order.objects.filter(client_order_ref__in=refs).values_list("run_id", flat=True))
    for run in Run.objects.filter(pk__in=run_ids).exclude(status=RunStatus.RUNNING):
        orders = dict(run.orders.values_list("client_order_ref", "status"))
        try:
            step_append(run=run, name=name, output={**output, "orders": orders})
        except IntegrityError:  # another process appended the same sequence: theirs stands
            logger.info("lineage step %s on run %s skipped (concurrent append)", name, run.pk)


def record_news(states: list[BrokerOrderState], executions: list[Execution]) -> None:
    """Apply broker news (sync ORM; the database thread) and note changes on the runs."""
    report = orders_apply(states=states, executions=executions)
    if report.new_fills or report.status_changes:
        refs = {s.client_order_ref for s in states} | {e.client_order_ref for e in executions}
        _note_on_runs(
            refs,
            "broker",
            {"new_fills": report.new_fills, "status_changes": report.status_changes},
        )


def attach_recorders(connection: IbkrConnection) -> None:
    """Record order statuses and fills from ``connection``'s events as they arrive."""

    def on_status(trade: Trade) -> None:
        if trade.order.orderRef:
            connection.run_db(record_news, [order_state(trade)], [])

    def on_commission(trade: Trade, fill: Fill, report: object) -> None:
        if fill.execution.orderRef:
            connection.run_db(record_news, [], [execution_of(fill)])

    connection.ib.orderStatusEvent += on_status
    connection.ib.commissionReportEvent += on_commission


def reconcile(
    states: list[BrokerOrderState], executions: list[Execution]
) -> dict[str, list[str] | int]:
    """Reconcile Sibyl's unfinished IBKR orders with what IBKR holds (sync ORM)."""
    report = orders_reconcile(
        broker_name=BROKER_NAME, states=states, executions=executions, now=timezone.now()
    )
    summary: dict[str, list[str] | int] = {
        "adopted": report.adopted,
        "new_fills": report.new_fills,
        "status_changes": report.status_changes,
        "unknown_at_broker": report.unknown_at_broker,
    }
    touched = set(report.adopted) | set(report.unknown_at_broker)
    if touched or report.new_fills:
        refs = touched | {e.client_order_ref for e in executions}
        _note_on_runs(refs, "reconcile", summary)
    return summary


async def reconcile_on_connect(connection: IbkrConnection) -> None:
    """Connect hook: load all open orders and today's executions, match them to Sibyl's
    orders by orderRef (adopt, record missed fills, flag orders IBKR does not know)."""
    ib = connection.ib
    await refresh(ib)
    states = [order_state(t) for t in ib.trades() if t.order.orderRef]
    refs = {f.execution.orderRef for f in ib.fills() if f.execution.orderRef}
    executions = executions_for(ib, refs)
    summary = await asyncio.wrap_future(connection.run_db(reconcile, states, executions))
    connection.reconciliations += 1
    logger.warning("IBKR reconciliation after connect: %s", summary)
