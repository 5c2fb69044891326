"""Watching orders after submission: status and fills, reconciliation and retries.

Everything is keyed by the client order reference: an order whose submission outcome is
unknown (its run was abandoned mid-submit, or the submit call failed in transit) is looked up at
the broker before anything is sent again.

Every pass ends with a reconciliation of positions per account (``positions_reconcile``): the
broker's positions beside the sum of the strategies' (``apps.positions.reconciliation``).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from apps.lineage.models import Run
from apps.orders.broker_selection import broker_named
from apps.orders.brokers import BrokerRejectedError
from apps.orders.models import ACTIVE_ORDER_STATUSES, Order, OrderRole, OrderStatus
from apps.orders.run_notes import run_note, runs_recover
from apps.orders.services import bracket_submit, orders_adopt, orders_sync
from apps.positions.models import PositionStatus
from apps.positions.reconciliation import account_positions_reconcile
from apps.trading.models import Account, BrokerKind

logger = logging.getLogger(__name__)


@dataclass
class MonitorReport:
    """Counts of what a monitor or retry pass did. ``accounts_reconciled``: accounts whose
    broker positions were compared with their strategies'; ``position_mismatches``: one line
    per (account, symbol, side) where they disagree (unattributed quantity, flagged)."""

    brackets: int = 0
    new_fills: int = 0
    status_changes: int = 0
    adopted: int = 0
    resubmitted: int = 0
    recovered: int = 0
    accounts_reconciled: int = 0
    position_mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _brackets(orders: QuerySet[Order]) -> dict[int, list[Order]]:
    """Orders grouped by run (one bracket per run), oldest first."""
    grouped: dict[int, list[Order]] = {}
    for order in orders.select_related("parent", "run").order_by("run_id", "pk"):
        grouped.setdefault(order.run_id, []).append(order)
    return grouped


def _bracket_of(run_id: int) -> list[Order]:
    return list(Order.objects.filter(run_id=run_id).select_related("parent").order_by("pk"))


def orders_monitor(*, now: datetime) -> MonitorReport:
    """Poll the broker for every run with an active order; record fills once, statuses, and a
    ``monitor`` step on the order's run whenever something changed.

    Orders pending longer than ``ORDER_IN_DOUBT_AFTER_S`` since they were created, or claimed
    for submission (``submitting``) longer than that (their submission may or may not have
    reached the broker: the worker died mid-submit) are reconciled by reference: adopted if the
    broker has them, otherwise marked failed for the retry pass.

    Then ``failed`` or ``abandoned`` runs whose bracket is at the broker become ``recovered``
    (``runs_recover``; e.g. adopted by broker news while the run still looked running).

    Last, every account's positions are reconciled (``positions_reconcile``).
    """
    report = MonitorReport()
    active = Order.objects.filter(status__in=ACTIVE_ORDER_STATUSES)
    for run_id in _brackets(active):
        _sync_bracket(run_id, report)
    in_doubt_before = now - timedelta(seconds=settings.ORDER_IN_DOUBT_AFTER_S)
    pending = Order.objects.filter(
        Q(status=OrderStatus.PENDING, created_at__lt=in_doubt_before)
        | Q(status=OrderStatus.SUBMITTING, updated_at__lt=in_doubt_before)
    )
    for run_id in _brackets(pending):
        _reconcile(run_id, report)
    report.recovered = len(runs_recover())
    positions_reconcile(now=now, report=report)
    return report


def accounts_to_reconcile(*, broker: str = "") -> QuerySet[Account]:
    """Accounts that ever sent an order, hold an open strategy position or have an account
    position on record (only those at ``broker`` when given); IBKR accounts only when this
    process trades at IBKR (``BROKER=ibkr``)."""
    accounts = Account.objects.filter(
        Q(orders__isnull=False)
        | Q(strategy_positions__status=PositionStatus.OPEN)
        | Q(account_positions__isnull=False)
    ).distinct()
    if settings.BROKER != "ibkr":
        accounts = accounts.exclude(broker=BrokerKind.IBKR)
    if broker:
        accounts = accounts.filter(broker=broker)
    return accounts.order_by("pk")


def positions_reconcile(*, now: datetime, report: MonitorReport) -> None:
    """Reconcile each account's broker positions with its strategy positions
    (``account_positions_reconcile``), adding to ``report``: accounts compared, one line per
    mismatch in ``position_mismatches`` (logged; a warning when first flagged), and one error
    per account whose broker could not be reached — the other accounts are reconciled
    regardless. Strategy positions are never changed."""
    for account in accounts_to_reconcile():
        try:
            held = broker_named(account.broker).positions(account.broker_key)
            result = account_positions_reconcile(account_id=account.pk, positions=held, now=now)
        except Exception as error:  # one unreachable broker must not stop the other accounts
            report.errors.append(
                f"positions of account {account.pk} ({account.broker_key}): "
                f"{type(error).__name__}: {error}"
            )
            continue
        report.accounts_reconciled += 1
        for mismatch in result.mismatches:
            line = f"account {account.pk} ({account.broker_key}) {mismatch.describe()}"
            report.position_mismatches.append(line)
            logger.info("Position mismatch (still flagged): %s", line)


def _sync_bracket(run_id: int, report: MonitorReport) -> None:
    orders = _bracket_of(run_id)
    report.brackets += 1
    try:
        sync = orders_sync(orders=orders, broker=broker_named(orders[0].broker))
    except Exception as error:  # one broken bracket must not stop the others
        report.errors.append(f"run {run_id}: {type(error).__name__}: {error}")
        return
    report.new_fills += sync.new_fills
    report.status_changes += sync.status_changes
    if sync.new_fills or sync.status_changes:
        run_note(
            run=Run.objects.get(pk=run_id),
            name="monitor",
            output={"new_fills": sync.new_fills, "status_changes": sync.status_changes},
        )


def _reconcile(run_id: int, report: MonitorReport) -> None:
    orders = _bracket_of(run_id)
    try:
        adopted = orders_adopt(orders=orders, broker=broker_named(orders[0].broker))
    except Exception as error:  # one broken bracket must not stop the others
        report.errors.append(f"run {run_id}: {type(error).__name__}: {error}")
        return
    report.adopted += len(adopted)
    run_note(run=Run.objects.get(pk=run_id), name="reconcile", output={"adopted": adopted})


def _retry_due(parent: Order, now: datetime) -> bool:
    delay = settings.ORDER_RETRY_BASE_DELAY_S * 2 ** max(parent.attempts - 1, 0)
    return now >= parent.updated_at + timedelta(seconds=delay)


def orders_retry(*, now: datetime) -> MonitorReport:
    """Resubmit brackets that failed for a transient reason, with exponential backoff, up to
    ``ORDER_MAX_ATTEMPTS``; only after the broker confirms by reference it has none of them.
    Rejected orders are never retried."""
    report = MonitorReport()
    parents = Order.objects.filter(
        role=OrderRole.ENTRY, status=OrderStatus.FAILED, attempts__lt=settings.ORDER_MAX_ATTEMPTS
    )
    for parent in parents.select_related("run"):
        if not _retry_due(parent, now):
            continue
        try:
            _retry_bracket(parent, report)
        except Exception as error:  # one unreachable broker must not stop the other retries
            report.errors.append(f"run {parent.run_id}: {type(error).__name__}: {error}")
    return report


def _retry_bracket(parent: Order, report: MonitorReport) -> None:
    orders = _bracket_of(parent.run_id)
    broker = broker_named(parent.broker)
    adopted = orders_adopt(orders=orders, broker=broker)
    if adopted:
        report.adopted += 1
        run_note(run=parent.run, name="reconcile", output={"adopted": adopted})
        return
    error = ""
    try:
        bracket_submit(
            orders=_bracket_of(parent.run_id),
            broker=broker,
            market_time=parent.run.as_of,
            claim_from=OrderStatus.FAILED,
        )
        report.resubmitted += 1
    except BrokerRejectedError as rejected:
        error = f"rejected on retry: {rejected}"
    except Exception as failed:  # still transient: the next pass tries again, later
        error = f"retry failed: {failed}"
    run_note(run=parent.run, name="retry", output={"attempt": parent.attempts + 1}, error=error)
