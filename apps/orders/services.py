"""Order services: build a bracket, submit it once, and bring broker news into the database."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.common import metrics
from apps.common.decimals import round_to_tick
from apps.lineage.models import Run
from apps.orders.brokers import (
    BracketSpec,
    Broker,
    BrokerOrderState,
    BrokerRejectedError,
    BrokerUnavailableError,
    Execution,
    OrderSpec,
)
from apps.orders.locks import orders_lock, orders_lock_available, orders_lock_by_ref
from apps.orders.models import (
    Fill,
    Order,
    OrderReason,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionAction,
    Side,
)
from apps.orders.notices import order_filled_notify
from apps.orders.transitions import order_transition
from apps.positions.models import PositionSide, StrategyPosition
from apps.positions.services import (
    EntryFill,
    FillEffect,
    strategy_position_open_add,
    strategy_position_reduce,
)
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.trading.locks import account_symbols_lock
from apps.trading.models import PositionMode
from apps.trading.trading_state import orders_refusal

BROKER_STATUS = {
    "submitted": OrderStatus.SUBMITTED,
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
}


# Orders whose submission may or may not have reached the broker.
IN_DOUBT = (OrderStatus.PENDING, OrderStatus.SUBMITTING, OrderStatus.FAILED)
# Orders a broker that does not hold them never received (as far as anyone can know).
UNSENT_OR_UNKNOWN = (OrderStatus.PENDING, OrderStatus.SUBMITTING)


@dataclass
class RunNews:
    """What broker news changed on one run's orders: new fills, orders whose status moved,
    references adopted (their submission outcome was unknown — ``pending``, ``submitting`` or
    ``failed`` — and the broker holds them) and working references the broker does not know
    (flagged by a reconciliation)."""

    new_fills: int = 0
    status_changes: int = 0
    adopted: list[str] = field(default_factory=list)
    unknown_at_broker: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything is worth a lineage note on the run."""
        return bool(self.new_fills or self.status_changes or self.adopted or self.unknown_at_broker)


@dataclass(frozen=True)
class SyncReport:
    """What one sync changed: new fills recorded and orders whose status moved, in all and by
    the run that owns the orders (run id -> ``RunNews``; only runs with a change)."""

    new_fills: int
    status_changes: int
    runs: dict[int, RunNews] = field(default_factory=dict)


def client_order_ref(run_id: int, role: str) -> str:
    """The idempotency key of a run's order in a role, e.g. ``sibyl-42-entry``."""
    return f"sibyl-{run_id}-{role}"


def bracket_create(
    *,
    run: Run,
    signal: Signal,
    strategy: Strategy,
    quantity: Decimal,
    broker_name: str,
    reason: str = OrderReason.SIGNAL,
    action: PositionAction | None = None,
    scale_in_position: StrategyPosition | None = None,
) -> list[Order]:
    """Create (or return the existing) pending parent, take-profit and stop-loss orders.

    The parent buys (BUY signal) or sells (SELL) at market or at the signal's entry limit; the
    children are the opposite side, GTC, in one OCA group. Idempotent per run (a run's exit
    order — the close of a reverse — is not part of its bracket). ``reason`` and ``action``
    say why the bracket exists (a signal; the second leg of a reverse). With
    ``scale_in_position`` only the entry is created — a scale-in adding to that open position,
    whose stop and target are resized once it fills (``apps.orders.followups``).
    """
    existing = list(Order.objects.filter(run=run).exclude(role=OrderRole.EXIT).order_by("pk"))
    if existing:
        return existing
    assert signal.entry and signal.stop_loss and signal.take_profit
    entry_side = Side.BUY if signal.action == "BUY" else Side.SELL
    exit_side = Side.SELL if entry_side == Side.BUY else Side.BUY
    oca = f"sibyl-{run.pk}-oca"
    tick = strategy.symbol.min_tick
    entry, target, stop = (
        round_to_tick(p, tick) for p in (signal.entry, signal.take_profit, signal.stop_loss)
    )
    common = {
        "run": run,
        "signal": signal,
        "strategy": strategy,
        "symbol_id": strategy.symbol_id,
        "account_id": strategy.account_id,
        "broker": broker_name,
        "quantity": quantity,
        "reason": OrderReason.SCALE_IN if scale_in_position is not None else reason,
        "action": action,
    }
    with transaction.atomic():
        parent = Order.objects.create(
            **common,
            role=OrderRole.ENTRY,
            side=entry_side,
            order_type=strategy.order_type,
            limit_price=entry if strategy.order_type == OrderType.LIMIT else None,
            time_in_force=strategy.time_in_force,
            client_order_ref=client_order_ref(run.pk, OrderRole.ENTRY),
            strategy_position=scale_in_position,
        )
        if scale_in_position is not None:
            metrics.order_status(status=OrderStatus.PENDING, broker=broker_name)
            return [parent]
        children = [
            Order.objects.create(
                **common,
                role=role,
                side=exit_side,
                order_type=kind,
                limit_price=limit,
                stop_price=stop,
                time_in_force="GTC",
                parent=parent,
                oca_group=oca,
                client_order_ref=client_order_ref(run.pk, role),
            )
            for role, kind, limit, stop in (
                (OrderRole.TAKE_PROFIT, OrderType.LIMIT, target, None),
                (OrderRole.STOP_LOSS, OrderType.STOP, None, stop),
            )
        ]
        for _ in range(1 + len(children)):  # created pending: the first status entered
            metrics.order_status(status=OrderStatus.PENDING, broker=broker_name)
    return [parent, *children]


def order_spec(order: Order) -> OrderSpec:
    """The broker-facing spec of a stored order (prices, quantity, refs, OCA group)."""
    return OrderSpec(
        client_order_ref=order.client_order_ref,
        role=order.role,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        time_in_force=order.time_in_force,
        parent_ref=order.parent.client_order_ref if order.parent else "",
        oca_group=order.oca_group,
    )


def _apply_state(order: Order, state: BrokerOrderState, *, adopt: bool = False) -> bool:
    """Adopt the broker's id and any cancel/reject of a row-locked order; fills come from
    executions only. Returns whether the status changed.

    A ``pending`` or ``submitting`` order the broker reports starts working (``submitted``);
    with ``adopt`` (reconciliation by reference) a ``failed`` one too. An order that starts
    working drops its error text: it was about an outcome now known (e.g. "submission outcome
    unknown" on an order adopted or resent later)."""
    before, known_id = order.status, order.broker_order_id
    order.broker_order_id = state.broker_order_id or order.broker_order_id
    starts = (OrderStatus.PENDING, OrderStatus.SUBMITTING, *((OrderStatus.FAILED,) * adopt))
    if order.status in starts:
        order_transition(
            order,
            to=OrderStatus.SUBMITTED,
            broker_order_id=order.broker_order_id,
            submitted_at=timezone.now(),
            error_message="",
        )
    final = BROKER_STATUS.get(state.status)
    working = order.status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
    if working and final == OrderStatus.CANCELLED:
        order_transition(
            order,
            to=final,
            broker_order_id=order.broker_order_id,
            error_message=state.reason,
            cancelled_at=timezone.now(),
        )
    elif working and final == OrderStatus.REJECTED:
        order_transition(
            order, to=final, broker_order_id=order.broker_order_id, error_message=state.reason
        )
    elif order.status == before and (
        order.broker_order_id != known_id or order.status in IN_DOUBT
    ):  # news without a status change: a new broker id, or a sign of life of an order in
        # doubt; a working order's unchanged news is not written (a backtest polls every slot)
        order.save(update_fields=["broker_order_id", "updated_at"])
    return order.status != before


def _claim(orders: list[Order], *, claim_from: str) -> list[Order] | None:
    """``claim_from`` (pending, or failed for a retry) → submitting with ``attempts`` + 1,
    committed; None if any order is no longer in ``claim_from`` (another caller has it, or it
    was settled)."""
    with transaction.atomic():
        locked = orders_lock(o.pk for o in orders)
        if any(o.status != claim_from for o in locked):
            return None
        for order in locked:
            order_transition(order, to=OrderStatus.SUBMITTING, attempts=order.attempts + 1)
    return locked


def _settle(orders: list[Order], states: dict[str, BrokerOrderState]) -> None:
    """Adopt the broker's states for the orders it reported (recorded events may have been
    quicker: adopting again changes nothing)."""
    with transaction.atomic():
        for order in orders_lock(o.pk for o in orders):
            if order.client_order_ref in states:
                _apply_state(order, states[order.client_order_ref])


class OrdersRefusedError(BrokerRejectedError):
    """The trading state (kill switch) refused the orders before they were sent (HTTP 409)."""

    http_status = 409


def _settle_failure(orders: list[Order], status: str, message: str) -> None:
    """Mark the orders still ``submitting`` rejected or failed with ``message``."""
    with transaction.atomic():
        for order in orders_lock(o.pk for o in orders):
            if order.status == OrderStatus.SUBMITTING:
                order_transition(order, to=status, error_message=message)


def bracket_submit(
    *,
    orders: list[Order],
    broker: Broker,
    market_time: datetime,
    claim_from: str = OrderStatus.PENDING,
    claimed_by_caller: bool = False,
    sync: bool = False,
) -> SyncReport | None:
    """Send a pending bracket (or, with ``claim_from`` ``failed``, a failed one the retry pass
    resends) to ``broker`` exactly once; with ``sync``, poll the broker for it right after
    (``orders_sync``) and return what that recorded (else None).

    1. Claim: under row locks, every order must be ``claim_from``; they become ``submitting``
       with ``attempts`` + 1, committed before anything is sent — a concurrent caller finds the
       bracket claimed and does nothing, and a crash leaves it ``submitting`` for the in-doubt
       reconciliation. No row lock is held while the broker is called. With
       ``claimed_by_caller`` the caller already did this, committed, when it created the
       orders (``entry_place(claim=True)``).
    2. When an earlier attempt was claimed (``attempts`` was above 0) it may have reached the
       broker: the broker is asked by client order reference, and a bracket it holds is
       adopted, not re-sent. An order never claimed before was never sent anywhere.
    3. Send the bracket; adopt the states the broker returns. With ``sync`` the broker is
       polled first and its acceptance and the poll's news are recorded in one transaction
       (one commit, not two); a failed poll still records the acceptance, then raises.

    Raises BrokerRejectedError (orders marked rejected) or BrokerUnavailableError (orders marked
    failed, retryable) after recording the outcome; only orders still ``submitting`` are marked.
    Raises OrdersRefusedError (a BrokerRejectedError; orders marked rejected, nothing sent) when
    the account's trading state refuses them (``apps.trading.trading_state``: halted, or an
    entry while reducing).
    ValueError for a ``claim_from`` other than ``pending`` or ``failed``.
    """
    if claim_from not in (OrderStatus.PENDING, OrderStatus.FAILED):
        raise ValueError(f"a bracket is claimed from pending or failed, not {claim_from}")
    claimed = orders if claimed_by_caller else _claim(orders, claim_from=claim_from)
    if claimed is None:
        return orders_sync(orders=orders, broker=broker) if sync else None
    # The kill switch, checked after the claim (a concurrent caller cannot slip past it) and
    # before anything is sent: a refused bracket is rejected whole with the state's reason.
    refusal = orders_refusal(account_id=claimed[0].account_id, roles=[o.role for o in claimed])
    if refusal:
        _settle_failure(claimed, OrderStatus.REJECTED, refusal)
        raise OrdersRefusedError(refusal)
    refs = [o.client_order_ref for o in claimed]
    try:
        known = broker.lookup(refs) if any(o.attempts > 1 for o in claimed) else {}
        if known:
            _settle(claimed, known)
            return orders_sync(orders=claimed, broker=broker) if sync else None
        spec = bracket_spec(claimed, market_time=market_time)
        states = broker.submit_bracket(spec)
    except BrokerRejectedError as error:
        _settle_failure(claimed, OrderStatus.REJECTED, str(error))
        raise
    except Exception as error:  # network and protocol errors alike: retryable
        _settle_failure(claimed, OrderStatus.FAILED, f"{type(error).__name__}: {error}")
        raise BrokerUnavailableError(f"submission failed: {error}") from error
    accepted = {state.client_order_ref: state for state in states}
    if not sync:
        _settle(claimed, accepted)
        return None
    try:
        polled, executions = broker.poll(refs)
    except Exception:
        _settle(claimed, accepted)
        raise
    with transaction.atomic():
        by_ref = orders_lock_by_ref(
            {
                *refs,
                *(s.client_order_ref for s in polled),
                *(e.client_order_ref for e in executions),
            }
        )
        for ref, order in by_ref.items():
            if ref in accepted:
                _apply_state(order, accepted[ref])
        # A polled state equal to the acceptance just applied is no news.
        news = [s for s in polled if s != accepted.get(s.client_order_ref)]
        return _apply_locked(by_ref, news, executions)


def bracket_spec(orders: list[Order], *, market_time: datetime) -> BracketSpec:
    """The broker-facing spec of a stored bracket (parent first): its symbol, bar size and
    orders, the account it is placed for (``Account.broker_key``), the side the entry opens
    (``LONG`` for a BUY entry, ``SHORT`` for a SELL entry) and whether the account is in hedge
    mode. ``market_time`` is when it reaches the market (tz-aware UTC)."""
    parent = next((o for o in orders if o.parent_id is None), orders[0])
    loaded = Order.objects.select_related("account", "strategy").get(pk=parent.pk)
    account = loaded.account
    # An entry's side opens its position side; an exit's closes it (a SELL exit closes a LONG).
    opens_long = parent.side == Side.BUY
    long_side = opens_long if parent.role != OrderRole.EXIT else not opens_long
    return BracketSpec(
        symbol_id=parent.symbol_id,
        bar_size=loaded.strategy.bar_size,
        market_time=market_time,
        orders=tuple(order_spec(o) for o in orders),
        account_key=account.broker_key,
        position_side=PositionSide.LONG if long_side else PositionSide.SHORT,
        hedge=account.position_mode == PositionMode.HEDGE,
    )


def order_market_time(order: Order) -> datetime:
    """When ``order`` reaches the market (tz-aware UTC): its run's as-of, or its position
    action's market time for an order without a run. Raises ValueError for an order with
    neither (none is ever created)."""
    if order.run is not None:
        return order.run.as_of
    if order.action is not None:
        return order.action.market_time
    raise ValueError(f"order {order.client_order_ref} has neither a run nor a position action")


def position_action_event(
    *, action: PositionAction, name: str, output: Mapping[str, Any], error: str = ""
) -> None:
    """Append one event (``at`` UTC ISO time, ``name``, ``output``, ``error``) to the
    action's lineage (``detail["events"]``), under its row lock: broker news, a retry or a
    reconciliation of its orders after it was decided."""
    with transaction.atomic():
        locked = PositionAction.objects.select_for_update().get(pk=action.pk)
        events = list(locked.detail.get("events", []))
        events.append(
            {"at": timezone.now().isoformat(), "name": name, "output": dict(output), "error": error}
        )
        locked.detail = {**locked.detail, "events": events}
        locked.save(update_fields=["detail"])


def _apply_to_position(order: Order, execution: Execution) -> FillEffect:
    """Apply an execution to the strategy position of its order: an entry opens or adds to
    the strategy's position on its side; an exit reduces the position its bracket opened."""
    if order.role == OrderRole.ENTRY:
        # What the position records of the order's strategy and signal, in one query.
        strategy_id, llm_model, analyst, stop, template_id = (
            Order.objects.filter(pk=order.pk)
            .values_list(
                "strategy_id",
                "strategy__llm_model",
                "strategy__analyst",
                "signal__stop_loss",
                "signal__prompt_template_id",
            )
            .get()
        )
        effect = strategy_position_open_add(
            fill=EntryFill(
                account_id=order.account_id,
                strategy_id=strategy_id,
                symbol_id=order.symbol_id,
                order_side=order.side,
                quantity=execution.quantity,
                price=execution.price,
                commission=execution.commission,
                executed_at=execution.executed_at,
                stop=stop,
                run_id=order.run_id,
                prompt_template_id=template_id,
                llm_model=llm_model or analyst,
            ),
            position_id=order.strategy_position_id,
        )
        assert effect.position is not None
        if order.strategy_position_id != effect.position.pk:
            # The bracket's exits protect (and will reduce) the position the entry filled into.
            Order.objects.filter(pk=order.pk).update(strategy_position=effect.position)
            Order.objects.filter(parent_id=order.pk).update(strategy_position=effect.position)
            order.strategy_position = effect.position
        return effect
    position_id = order.strategy_position_id
    if position_id is None and order.parent_id is not None:
        position_id = (
            Order.objects.filter(pk=order.parent_id)
            .values_list("strategy_position_id", flat=True)
            .first()
        )
    return strategy_position_reduce(
        position_id=position_id,
        quantity=execution.quantity,
        price=execution.price,
        commission=execution.commission,
        executed_at=execution.executed_at,
    )


def _record_execution(order: Order, execution: Execution) -> bool:
    if Fill.objects.filter(execution_id=execution.execution_id).exists():
        return False
    effect = _apply_to_position(order, execution)
    realized = effect.realized
    Fill.objects.create(
        order=order,
        execution_id=execution.execution_id,
        executed_at=execution.executed_at,
        quantity=execution.quantity,
        price=execution.price,
        commission=execution.commission,
        realized_pnl=realized,
        unattributed_quantity=effect.excess,
    )
    metrics.fill_recorded(broker=order.broker, side=order.side)
    previous_value = (order.avg_fill_price or Decimal(0)) * order.filled_quantity
    filled = order.filled_quantity + execution.quantity
    order_transition(
        order,
        to=OrderStatus.FILLED if filled >= order.quantity else OrderStatus.PARTIALLY_FILLED,
        filled_quantity=filled,
        avg_fill_price=(previous_value + execution.price * execution.quantity) / filled,
        commission=order.commission + execution.commission,
        realized_pnl=order.realized_pnl + realized,
        filled_at=execution.executed_at,
        # A fill settles an unknown submission outcome: the error text described it.
        error_message="" if order.status in IN_DOUBT else order.error_message,
    )
    order_filled_notify(order)
    return True


def orders_sync(*, orders: list[Order], broker: Broker) -> SyncReport:
    """Poll the broker for ``orders`` and record new fills (once each, by execution id),
    position changes and status changes."""
    states, executions = broker.poll([o.client_order_ref for o in orders])
    return orders_apply(states=states, executions=executions)


def orders_apply(*, states: list[BrokerOrderState], executions: list[Execution]) -> SyncReport:
    """Record what a broker reported: executions (once each, by execution id, oldest first)
    and status changes, under row locks of the referenced orders.

    Reports about references Sibyl does not hold (orders placed by hand in TWS, another
    system's orders) are ignored. Safe to call concurrently and repeatedly with the same news.
    Returns the counts in all and by owning run; an order whose submission outcome was unknown
    (``pending``, ``submitting``, ``failed``) and that now works or fills is listed as adopted.
    """
    refs = {s.client_order_ref for s in states} | {e.client_order_ref for e in executions}
    with transaction.atomic():
        return _apply_locked(orders_lock_by_ref(refs), states, executions)


def _apply_locked(
    by_ref: dict[str, Order], states: list[BrokerOrderState], executions: list[Execution]
) -> SyncReport:
    """Executions first (a fill's status follows from it), then states; a status change is
    one a state made. Adopted: orders in doubt before that work or fill after."""
    runs: dict[int, RunNews] = {}
    unowned = RunNews()  # orders of a position action without a run (a person's, end of day)

    def news_of(order: Order) -> RunNews:
        return unowned if order.run_id is None else runs.setdefault(order.run_id, RunNews())

    in_doubt = {ref for ref, order in by_ref.items() if order.status in IN_DOUBT}
    # (Account, symbol) locks after orders, all at once (fills come in time order).
    account_symbols_lock(
        (by_ref[e.client_order_ref].account_id, by_ref[e.client_order_ref].symbol_id)
        for e in executions
        if e.client_order_ref in by_ref
    )
    for execution in sorted(executions, key=lambda e: e.executed_at):
        order = by_ref.get(execution.client_order_ref)
        if order is not None and _record_execution(order, execution):
            news_of(order).new_fills += 1
    for state in states:
        order = by_ref.get(state.client_order_ref)
        if order is not None and _apply_state(order, state):
            news_of(order).status_changes += 1
    for ref in sorted(in_doubt, key=lambda ref: by_ref[ref].pk):
        order = by_ref[ref]
        if order.status not in IN_DOUBT:
            news_of(order).adopted.append(ref)
    every = [*runs.values(), unowned]
    return SyncReport(
        new_fills=sum(n.new_fills for n in every),
        status_changes=sum(n.status_changes for n in every),
        runs=runs,
    )


def orders_adopt(*, orders: list[Order], broker: Broker) -> list[str]:
    """Reconcile orders whose submission outcome is unknown, by client order reference.

    Pending, submitting or failed orders the broker holds take its id and state (and their
    fills come with the next sync; their error text is cleared); pending or submitting orders
    it does not hold are marked failed, so the retry pass may send them — never sooner.
    Returns the references of ``orders`` the broker was found to hold, in ``orders``' order.
    """
    known = broker.lookup([o.client_order_ref for o in orders])
    with transaction.atomic():
        for order in orders_lock(o.pk for o in orders):
            state = known.get(order.client_order_ref)
            if state is not None and order.status in IN_DOUBT:
                _apply_state(order, state, adopt=True)
            elif state is None and order.status in UNSENT_OR_UNKNOWN:
                order_transition(
                    order,
                    to=OrderStatus.FAILED,
                    error_message="submission outcome unknown; the broker does not hold it",
                )
    if known:
        orders_sync(orders=orders, broker=broker)
    return [o.client_order_ref for o in orders if o.client_order_ref in known]


@dataclass(frozen=True)
class ReconcileReport:
    """What a reconciliation found: orders adopted (their submit outcome was unknown and the
    broker holds them), fills and status changes recorded, and orders Sibyl thinks are live
    that the broker does not know (flagged for a person); in all and by the run that owns the
    orders (run id -> ``RunNews``; only runs with a change)."""

    adopted: list[str]
    new_fills: int
    status_changes: int
    unknown_at_broker: list[str]
    runs: dict[int, RunNews] = field(default_factory=dict)


RECONCILED_STATUSES = (
    *IN_DOUBT,
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
)


def orders_reconcile(
    *,
    broker_name: str,
    states: list[BrokerOrderState],
    executions: list[Execution],
    now: datetime,
) -> ReconcileReport:
    """Match everything a broker holds (open orders and executions, e.g. after a reconnect)
    to Sibyl's unfinished orders on that broker, by client order reference.

    Pending or failed orders the broker holds are adopted (never re-sent); missed fills are
    recorded once; working orders the broker knows nothing of are flagged (``flagged_at``,
    ``error_message``; once: ``unknown_at_broker`` lists the newly flagged) but keep their
    status. Orders row-locked by an in-flight submission
    are skipped: that submission settles them.
    """
    known = {s.client_order_ref: s for s in states}
    known_refs = set(known) | {e.client_order_ref for e in executions}
    # By run id; 0 holds the orders of a position action without a run (never returned).
    runs: dict[int, RunNews] = {}
    with transaction.atomic():
        ours = orders_lock_available(broker_name=broker_name, statuses=RECONCILED_STATUSES)
        for ref, order in ours.items():
            if order.status in IN_DOUBT and ref in known_refs:
                # Failed ones too: the broker holds them. Held only through executions (no
                # open order left): working, fills follow.
                state = known.get(ref) or BrokerOrderState(ref, "", "submitted")
                _apply_state(order, state, adopt=True)
                news = runs.setdefault(order.run_id or 0, RunNews())
                news.adopted.append(ref)
                news.status_changes += 1
            elif order.status not in IN_DOUBT and ref not in known_refs and not order.flagged_at:
                order.flagged_at = now
                order.error_message = "working in Sibyl but unknown to the broker at reconciliation"
                order.save(update_fields=["flagged_at", "error_message", "updated_at"])
                runs.setdefault(order.run_id or 0, RunNews()).unknown_at_broker.append(ref)
        report = _apply_locked(
            ours,
            [s for s in states if s.client_order_ref in ours],
            [e for e in executions if e.client_order_ref in ours],
        )
    local_changes = sum(news.status_changes for news in runs.values())
    for run_id, news in report.runs.items():
        mine = runs.setdefault(run_id, RunNews())
        mine.new_fills += news.new_fills
        mine.status_changes += news.status_changes
        mine.adopted += news.adopted
    return ReconcileReport(
        adopted=[ref for news in runs.values() for ref in news.adopted],
        new_fills=report.new_fills,
        status_changes=local_changes + report.status_changes,
        unknown_at_broker=[ref for news in runs.values() for ref in news.unknown_at_broker],
        runs={run_id: news for run_id, news in runs.items() if run_id},
    )
