"""Closing strategy positions: one position (a run's close or reverse, a person's close), and
close-all by scope (a strategy, an account's symbol, a whole account; a person's or the
end-of-day schedule's).

A close, in this order (openspec/specs/positions/spec.md, "Closing a position"):

1. Under the (account, symbol) lock: the position must be open, with no close of it already
   working (a close is never sent twice); the ``PositionAction`` and its pending ``exit`` order
   (the whole quantity, the opposite side) are created and committed.
2. The position's working orders are brought up to date with the broker (fills first), then
   cancelled at the broker — its stop and target, and what is left of its entry — so nothing
   of the old bracket can fill after the close. A cancel that fails withdraws the close
   unsent: the position keeps its protection.
3. The exit goes out for what the position holds then (a stop or target that filled meanwhile
   shrinks it; a position flat by then withdraws it), once, by the submit-once path
   (``bracket_submit``). Its fill reduces the position it names (``Order.strategy_position``).

Prices in the symbol's currency, quantities in shares/contracts/units, times tz-aware UTC.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.common import metrics
from apps.common.decimals import plain, round_to_tick
from apps.common.errors import SibylError
from apps.lineage.models import Run
from apps.orders.approvals import approvals_withdraw
from apps.orders.broker_selection import broker_for, broker_named
from apps.orders.brokers import Broker, BrokerRejectedError, BrokerUnavailableError
from apps.orders.cancellation import OrderNotWorkingError, order_cancel
from apps.orders.conflicts import bracket_withdraw
from apps.orders.models import (
    ACTIVE_ORDER_STATUSES,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionAction,
    PositionActionStatus,
    Side,
)
from apps.orders.services import bracket_submit, orders_sync
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.trading.locks import account_symbols_lock
from apps.trading.models import Account
from apps.trading.trading_state import orders_allowed_check

# A close of the position that may still go out or fill: another one must not be sent.
EXIT_IN_FLIGHT = (
    OrderStatus.PENDING,
    OrderStatus.SUBMITTING,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FAILED,
)
# Orders that may still fill at the broker or be sent to it.
UNFINISHED = (*EXIT_IN_FLIGHT,)


class PositionNotOpenError(SibylError):
    """The position is closed or flat: there is nothing to close. The API answers 409."""

    http_status = 409


class PositionCloseInProgressError(SibylError):
    """A close of the position is already working (or waiting to be retried): a second one
    would sell twice. The API answers 409."""

    http_status = 409


@dataclass(frozen=True)
class CloseRequest:
    """Who or what asks for a close, and how.

    ``kind`` is an ``OrderReason`` (close, reverse, end_of_day, person); ``market_time`` is
    when the exit reaches the market (a run's as-of, or now); ``requested_by`` and ``note``
    name a person and their reason; ``run`` and ``signal`` a run that asked; ``order_type``
    MKT, or LMT at ``limit_price``; ``parent`` a close-all this close is part of.
    """

    kind: str
    market_time: datetime
    requested_by: User | None = None
    note: str = ""
    run: Run | None = None
    signal: Signal | None = None
    order_type: str = OrderType.MARKET
    limit_price: Decimal | None = None
    parent: PositionAction | None = None


def exit_side(position_side: str) -> str:
    """The order side that reduces a position: SELL for LONG, BUY for SHORT."""
    return Side.SELL if position_side == PositionSide.LONG else Side.BUY


def position_broker(position: StrategyPosition) -> Broker:
    """The broker the position's orders went to (its entry's), or, for a position without
    orders (rebuilt from history), the strategy's broker (``broker_for``). Raises
    BrokerUnavailableError when this process cannot reach it."""
    name = (
        Order.objects.filter(strategy_position=position, role=OrderRole.ENTRY)
        .values_list("broker", flat=True)
        .first()
    )
    if name:
        return broker_named(name)
    strategy = position.strategy
    return broker_for(trading_mode=strategy.trading_mode, account_broker=position.account.broker)


def _exit_in_flight(position: StrategyPosition) -> Order | None:
    return (
        Order.objects.filter(
            strategy_position=position, role=OrderRole.EXIT, status__in=EXIT_IN_FLIGHT
        )
        .order_by("pk")
        .first()
    )


def _prepare(
    position_id: int, request: CloseRequest, broker_name: str
) -> tuple[PositionAction, Order]:
    """Step 1 (module docstring): validate under the (account, symbol) lock and create the
    action and its pending exit, committed."""
    with transaction.atomic():
        head = StrategyPosition.objects.values("account_id", "symbol_id").get(pk=position_id)
        account_symbols_lock([(head["account_id"], head["symbol_id"])])
        position = (
            StrategyPosition.objects.select_for_update(of=("self",))
            .select_related("strategy", "symbol")
            .get(pk=position_id)
        )
        if position.status != PositionStatus.OPEN or position.quantity <= 0:
            raise PositionNotOpenError(
                f"{position.strategy.name} holds no open {position.side} position in "
                f"{position.symbol.symbol} (position {position.pk} is {position.status}, "
                f"quantity {plain(position.quantity)}): nothing to close"
            )
        working = _exit_in_flight(position)
        if working is not None:
            raise PositionCloseInProgressError(
                f"a close of position {position.pk} is already {working.status} "
                f"(order {working.client_order_ref}): it is not sent twice"
            )
        action = PositionAction.objects.create(
            kind=request.kind,
            account_id=position.account_id,
            strategy=position.strategy,
            symbol=position.symbol,
            strategy_position=position,
            run=request.run,
            requested_by=request.requested_by,
            note=request.note,
            market_time=request.market_time,
            detail={
                "position": {
                    "id": position.pk,
                    "side": position.side,
                    "quantity": plain(position.quantity),
                    "average_cost": plain(position.average_cost),
                },
                **({"close_all": request.parent.pk} if request.parent else {}),
            },
        )
        limit = (
            round_to_tick(request.limit_price, position.symbol.min_tick)
            if request.order_type == OrderType.LIMIT and request.limit_price is not None
            else None
        )
        order_type = OrderType.LIMIT if limit is not None else OrderType.MARKET
        exit_order = Order.objects.create(
            run=request.run,
            signal=request.signal,
            strategy=position.strategy,
            symbol=position.symbol,
            account_id=position.account_id,
            strategy_position=position,
            broker=broker_name,
            role=OrderRole.EXIT,
            reason=request.kind,
            action=action,
            side=exit_side(position.side),
            order_type=order_type,
            quantity=position.quantity,
            limit_price=limit,
            # A market close is for today; a limit close works as the strategy's entries do.
            time_in_force="DAY"
            if order_type == OrderType.MARKET
            else position.strategy.time_in_force,
            client_order_ref=f"sibyl-a{action.pk}-exit",
        )
        metrics.order_status(status=OrderStatus.PENDING, broker=broker_name)
    return action, exit_order


def _protection(position: StrategyPosition, exit_order: Order) -> list[Order]:
    """The position's orders other than this close that may still fill at the broker: its
    stop and target, and what is left of its entry."""
    return list(
        Order.objects.filter(strategy_position=position, status__in=UNFINISHED)
        .exclude(pk=exit_order.pk)
        .exclude(role=OrderRole.EXIT)
        .select_related("parent", "run", "action")
        .order_by("pk")
    )


def _cancel_protection(position: StrategyPosition, exit_order: Order, broker: Broker) -> list[str]:
    """Step 2: sync the position's other working orders (their fills first), then cancel the
    ones still working, children before the entry. Returns the references cancelled. Raises
    what the broker raised."""
    others = _protection(position, exit_order)
    working = [o for o in others if o.status in ACTIVE_ORDER_STATUSES]
    if working:
        orders_sync(orders=working, broker=broker)
    cancelled = []
    # Children (stop, target) first; an entry's cancel would take its children with it.
    for order in sorted(_protection(position, exit_order), key=lambda o: o.parent_id is None):
        order.refresh_from_db()
        if order.status not in ACTIVE_ORDER_STATUSES:
            continue
        try:
            order_cancel(order=order)
        except OrderNotWorkingError:
            continue  # it finished meanwhile (filled or ended at the broker)
        cancelled.append(order.client_order_ref)
    return cancelled


def _finish(action: PositionAction, status: str, error: str = "", **detail: Any) -> None:
    action.status = status
    action.error_message = error
    action.finished_at = timezone.now()
    action.detail = {**action.detail, **detail}
    action.save(update_fields=["status", "error_message", "finished_at", "detail"])


def position_close(
    *, position: StrategyPosition, request: CloseRequest, broker: Broker | None = None
) -> PositionAction:
    """Close ``position`` (module docstring): returns its ``PositionAction``, ``done`` when the
    exit went out (its status and fills are on the order), or when the position went flat
    before it was sent (the exit withdrawn, ``detail["flat_before_close"]``).

    Raises PositionNotOpenError (closed or flat: nothing recorded), PositionCloseInProgressError
    (a close is already working: nothing recorded), and, with the action ``failed`` and the
    exit withdrawn or rejected: BrokerUnavailableError when the broker cannot be reached to
    cancel the protective orders (they stay working), BrokerRejectedError when the broker
    refuses the exit. An exit whose sending failed in transit stays ``failed`` for the retry
    pass (the action keeps ``requested`` with the error) and BrokerUnavailableError is raised.
    Raises TradingStateError (409: nothing recorded, the protection stays) while the account's
    trading state is ``halted`` — checked before the stop and target are cancelled, so a halt
    never leaves a position unprotected and unclosed.
    """
    orders_allowed_check(account_id=position.account_id, roles=[OrderRole.EXIT])
    broker = broker or position_broker(position)
    action, exit_order = _prepare(position.pk, request, broker.name)
    try:
        cancelled = _cancel_protection(position, exit_order, broker)
    except Exception as error:
        why = f"the position's protective orders could not be cancelled: {error}"
        bracket_withdraw(orders=[exit_order], reason=why)
        _finish(action, PositionActionStatus.FAILED, why)
        raise BrokerUnavailableError(why) from error
    position.refresh_from_db()
    if position.status != PositionStatus.OPEN or position.quantity <= 0:
        bracket_withdraw(
            orders=[exit_order], reason="the position went flat before the close was sent"
        )
        _finish(action, PositionActionStatus.DONE, cancelled=cancelled, flat_before_close=True)
        return action
    if position.quantity != exit_order.quantity:
        Order.objects.filter(pk=exit_order.pk, status=OrderStatus.PENDING).update(
            quantity=position.quantity
        )
        exit_order.refresh_from_db()
    try:
        bracket_submit(orders=[exit_order], broker=broker, market_time=request.market_time)
    except BrokerRejectedError as error:
        _finish(
            action,
            PositionActionStatus.FAILED,
            f"the broker rejected the close: {error}; the position's protective orders were "
            "cancelled, so it is unprotected until closed",
            cancelled=cancelled,
        )
        raise
    except BrokerUnavailableError as error:
        action.error_message = f"sending the close failed, the retry pass resends it: {error}"
        action.detail = {**action.detail, "cancelled": cancelled, "orders": [exit_order.pk]}
        action.save(update_fields=["error_message", "detail"])
        raise
    orders_sync(orders=[exit_order], broker=broker)
    _finish(action, PositionActionStatus.DONE, cancelled=cancelled, orders=[exit_order.pk])
    return action


@dataclass
class CloseAllReport:
    """What a close-all did: the umbrella ``action``, the working orders it cancelled
    (references), the positions' closes (their actions) and one line per failure."""

    action: PositionAction
    cancelled: list[str] = field(default_factory=list)
    closes: list[PositionAction] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _scope_filter(
    prefix: str, account: Account, strategy: Strategy | None, symbol_id: int | None
) -> Q:
    q = Q(**{f"{prefix}account": account})
    if strategy is not None:
        q &= Q(**{f"{prefix}strategy": strategy})
    if symbol_id is not None:
        q &= Q(**{f"{prefix}symbol_id": symbol_id})
    return q


def positions_close_all(
    *,
    account: Account,
    kind: str,
    market_time: datetime,
    strategy: Strategy | None = None,
    symbol_id: int | None = None,
    requested_by: User | None = None,
    note: str = "",
) -> CloseAllReport:
    """Cancel every working order in the scope and close every open strategy position in it
    with a market exit: the scope is ``account``, narrowed to ``strategy`` and/or
    ``symbol_id``. ``kind`` is ``person`` (a person's close-all; ``requested_by`` and
    ``note`` say who and why) or ``end_of_day``.

    Working entries with nothing filled are cancelled at the broker (a pending one — its run
    is about to send it — is withdrawn unsent; one held for approval is rejected with the
    close-all's reason, ``approvals_withdraw``); positions are closed one by one
    (``position_close``); one failure does not stop the rest (``errors``). The umbrella
    ``PositionAction`` records the scope and everything done; ``failed`` when anything
    failed. Positions whose close is already working are left to it (noted, not an error).
    """
    parent = PositionAction.objects.create(
        kind=kind,
        account=account,
        strategy=strategy,
        symbol_id=symbol_id,
        requested_by=requested_by,
        note=note,
        market_time=market_time,
        detail={
            "scope": {
                "account": account.pk,
                "strategy": strategy.pk if strategy else None,
                "symbol": symbol_id,
            }
        },
    )
    report = CloseAllReport(action=parent)
    # Entries that opened nothing yet (no position): cancel them so nothing new opens.
    entries = Order.objects.filter(
        _scope_filter("", account, strategy, symbol_id),
        role=OrderRole.ENTRY,
        strategy_position__isnull=True,
        status__in=(OrderStatus.PENDING, *ACTIVE_ORDER_STATUSES),
    ).order_by("pk")
    why = f"{kind}: close-all" + (f" ({note})" if note else "")
    # Brackets held for a person's approval: rejected, or approving one later would open anew.
    report.cancelled += approvals_withdraw(
        orders=Order.objects.filter(
            _scope_filter("", account, strategy, symbol_id), role=OrderRole.ENTRY
        ),
        reason=why,
        user=requested_by,
    )
    for order in entries:
        try:
            if order.status == OrderStatus.PENDING:
                # The whole unsent bracket: its stop and target must not stay pending orphans.
                bracket = [order, *Order.objects.filter(parent=order)]
                if bracket_withdraw(orders=bracket, reason=why):
                    report.cancelled.append(order.client_order_ref)
                continue
            order_cancel(order=order)
            report.cancelled.append(order.client_order_ref)
        except OrderNotWorkingError:
            continue
        except Exception as error:  # one unreachable order must not stop the rest
            report.errors.append(f"cancel {order.client_order_ref}: {error}")
    positions = StrategyPosition.objects.filter(
        _scope_filter("", account, strategy, symbol_id), status=PositionStatus.OPEN
    ).order_by("pk")
    skipped = []
    for position in positions.select_related("strategy", "symbol", "account"):
        request = CloseRequest(
            kind=kind,
            market_time=market_time,
            requested_by=requested_by,
            note=note,
            parent=parent,
        )
        try:
            report.closes.append(position_close(position=position, request=request))
        except PositionCloseInProgressError as busy:
            skipped.append(str(busy))
        except PositionNotOpenError:
            continue
        except Exception as error:  # one failed close must not stop the others
            report.errors.append(f"close position {position.pk}: {error}")
    _finish(
        parent,
        PositionActionStatus.FAILED if report.errors else PositionActionStatus.DONE,
        "; ".join(report.errors),
        cancelled=report.cancelled,
        closes=[a.pk for a in report.closes],
        already_closing=skipped,
    )
    return report
