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

from apps.orders.broker_selection import broker_named
from apps.orders.brokers import BrokerRejectedError
from apps.orders.followups import reverses_continue, scale_ins_continue
from apps.orders.models import ACTIVE_ORDER_STATUSES, Order, OrderRole, OrderStatus
from apps.orders.modification import modifications_resolve
from apps.orders.run_notes import run_note, runs_recover
from apps.orders.services import (
    bracket_submit,
    order_market_time,
    orders_adopt,
    orders_sync,
    position_action_event,
)
from apps.positions.models import PositionStatus
from apps.positions.reconciliation import account_positions_reconcile
from apps.strategies.triggers import risk_triggers_check
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
    modifications_resolved: int = 0
    accounts_reconciled: int = 0
    position_mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _brackets(orders: QuerySet[Order]) -> dict[int, list[Order]]:
    """Orders grouped by unit — a bracket (keyed by its entry's id) or a lone order (an exit,
    a scale-in entry: its own id) — oldest first."""
    grouped: dict[int, list[Order]] = {}
    for order in orders.select_related("parent", "run").order_by("pk"):
        grouped.setdefault(order.parent_id or order.pk, []).append(order)
    return grouped


def _bracket_of(unit_id: int) -> list[Order]:
    """The orders of the unit ``unit_id``: the entry (or lone order) and its children."""
    return list(
        Order.objects.filter(Q(pk=unit_id) | Q(parent_id=unit_id))
        .select_related("parent", "run", "action")
        .order_by("pk")
    )


def _unit_note(orders: list[Order], name: str, output: dict[str, object], error: str = "") -> None:
    """Lineage of a unit's later news: a note on the run that owns it (``run_note``), or, for
    a position action without a run (a person's close, the end-of-day close), an event on the
    action (``position_action_event``)."""
    head = orders[0]
    if head.run is not None:
        run_note(run=head.run, name=name, output=output, error=error)
    elif head.action is not None:
        position_action_event(action=head.action, name=name, output=output, error=error)


def orders_monitor(*, now: datetime) -> MonitorReport:
    """Poll the broker for every run with an active order; record fills once, statuses, and a
    ``monitor`` step on the order's run whenever something changed.

    Orders pending longer than ``ORDER_IN_DOUBT_AFTER_S`` since they were created, or claimed
    for submission (``submitting``) longer than that (their submission may or may not have
    reached the broker: the worker died mid-submit) are reconciled by reference: adopted if the
    broker has them, otherwise marked failed for the retry pass.

    Reverses whose close filled send their new bracket (``reverses_continue``); scale-ins
    whose entry filled resize the position's stop and target (``scale_ins_continue``).

    A backtest's accounts (``Account.paper_clock`` set) are left out of these passes: they live
    in simulated time, and the backtest runner moves their clock and goes on with their
    follow-ups and end-of-day closes itself (evaluation spec).

    Then ``failed`` or ``abandoned`` runs whose bracket is at the broker become ``recovered``
    (``runs_recover``; e.g. adopted by broker news while the run still looked running).

    Then modifications whose answer was lost (or whose sender died) are resolved by asking the
    broker (``modification.modifications_resolve``).

    Then every account's positions are reconciled (``positions_reconcile``). Last, the
    accounts' and strategies' daily loss and drawdown limits are checked on the fills just
    recorded (``apps.strategies.triggers.risk_triggers_check``: halts or deactivates).
    """
    report = MonitorReport()
    # A backtest's account (paper clock set) lives in simulated time: its runner advances it.
    wall_clock = Order.objects.filter(account__paper_clock__isnull=True)
    active = wall_clock.filter(status__in=ACTIVE_ORDER_STATUSES)
    for unit_id in _brackets(active):
        _sync_bracket(unit_id, report)
    report.errors += reverses_continue()
    report.errors += scale_ins_continue()
    in_doubt_before = now - timedelta(seconds=settings.ORDER_IN_DOUBT_AFTER_S)
    pending = wall_clock.filter(
        Q(status=OrderStatus.PENDING, created_at__lt=in_doubt_before)
        | Q(status=OrderStatus.SUBMITTING, updated_at__lt=in_doubt_before)
    )
    for unit_id in _brackets(pending):
        _reconcile(unit_id, report)
    report.recovered = len(runs_recover())
    report.modifications_resolved = modifications_resolve(now=now)
    positions_reconcile(now=now, report=report)
    report.errors += risk_triggers_check(now=now).errors  # loss/drawdown limits halt or stop
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


def _unit_name(orders: list[Order]) -> str:
    head = orders[0]
    return f"run {head.run_id}" if head.run_id else f"order {head.client_order_ref}"


def _sync_bracket(unit_id: int, report: MonitorReport) -> None:
    orders = _bracket_of(unit_id)
    report.brackets += 1
    try:
        sync = orders_sync(orders=orders, broker=broker_named(orders[0].broker))
    except Exception as error:  # one broken bracket must not stop the others
        report.errors.append(f"{_unit_name(orders)}: {type(error).__name__}: {error}")
        return
    report.new_fills += sync.new_fills
    report.status_changes += sync.status_changes
    if sync.new_fills or sync.status_changes:
        _unit_note(
            orders,
            "monitor",
            {"new_fills": sync.new_fills, "status_changes": sync.status_changes},
        )


def _reconcile(unit_id: int, report: MonitorReport) -> None:
    orders = _bracket_of(unit_id)
    try:
        adopted = orders_adopt(orders=orders, broker=broker_named(orders[0].broker))
    except Exception as error:  # one broken bracket must not stop the others
        report.errors.append(f"{_unit_name(orders)}: {type(error).__name__}: {error}")
        return
    report.adopted += len(adopted)
    _unit_note(orders, "reconcile", {"adopted": adopted})


def _retry_due(parent: Order, now: datetime) -> bool:
    delay = settings.ORDER_RETRY_BASE_DELAY_S * 2 ** max(parent.attempts - 1, 0)
    return now >= parent.updated_at + timedelta(seconds=delay)


def orders_retry(*, now: datetime) -> MonitorReport:
    """Resubmit brackets that failed for a transient reason, with exponential backoff, up to
    ``ORDER_MAX_ATTEMPTS``; only after the broker confirms by reference it has none of them.
    Rejected orders are never retried."""
    report = MonitorReport()
    parents = Order.objects.filter(
        role__in=(OrderRole.ENTRY, OrderRole.EXIT),
        status=OrderStatus.FAILED,
        attempts__lt=settings.ORDER_MAX_ATTEMPTS,
    )
    for parent in parents.select_related("run", "action"):
        if not _retry_due(parent, now):
            continue
        try:
            _retry_bracket(parent, report)
        except Exception as error:  # one unreachable broker must not stop the other retries
            report.errors.append(f"{_unit_name([parent])}: {type(error).__name__}: {error}")
    return report


def _retry_bracket(parent: Order, report: MonitorReport) -> None:
    orders = _bracket_of(parent.pk)
    broker = broker_named(parent.broker)
    adopted = orders_adopt(orders=orders, broker=broker)
    if adopted:
        report.adopted += 1
        _unit_note(orders, "reconcile", {"adopted": adopted})
        return
    error = ""
    try:
        bracket_submit(
            orders=_bracket_of(parent.pk),
            broker=broker,
            market_time=order_market_time(parent),
            claim_from=OrderStatus.FAILED,
        )
        report.resubmitted += 1
    except BrokerRejectedError as rejected:
        error = f"rejected on retry: {rejected}"
    except Exception as failed:  # still transient: the next pass tries again, later
        error = f"retry failed: {failed}"
    _unit_note(orders, "retry", {"attempt": parent.attempts + 1}, error=error)
