"""Step 6, order: carry out the signal's position action — open a bracket (the account's
conflict policy decided under the (account, symbol) lock), close the strategy's position,
reverse it (close; the new bracket once the close filled), or scale in (a lone entry) — send
each order once and record what the broker reports."""

from typing import Any

from apps.common.deadlines import deadline_check
from apps.lineage.models import EVALUATION_TRIGGERS
from apps.lineage.services import StepRecorder
from apps.orders.approvals import approval_hold, approval_reason
from apps.orders.broker_selection import broker_for
from apps.orders.brokers import Broker
from apps.orders.conflicts import ConflictDecision, conflict_lost, entry_displace, entry_place
from apps.orders.followups import (
    REFUSED,
    reverse_continue,
    reverse_plan,
    scale_in_continue,
    scale_in_plan,
)
from apps.orders.models import (
    ACTIVE_ORDER_STATUSES,
    Order,
    OrderReason,
    OrderRole,
    PositionAction,
    PositionActionStatus,
)
from apps.orders.modification import order_modify
from apps.orders.notices import approval_needed_notify
from apps.orders.position_actions import (
    CloseRequest,
    PositionCloseInProgressError,
    PositionNotOpenError,
    position_close,
)
from apps.orders.services import bracket_submit
from apps.pipeline.context import RunContext
from apps.positions.models import PositionStatus, StrategyPosition
from apps.signals.position_plan import CLOSE, OPEN, REVERSE, SCALE_IN, TRAIL
from apps.strategies.live_trading import live_trading_check

NAME = "order"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """The accepted signal, its position action and the sized quantity (None for a close)."""
    assert ctx.signal is not None
    return {
        "signal_id": ctx.signal.pk,
        "position_action": ctx.signal.position_action or OPEN,
        "quantity": str(ctx.sizing.quantity) if ctx.sizing else None,
        "order_type": ctx.strategy.order_type,
        "time_in_force": ctx.strategy.time_in_force,
        "trading_mode": ctx.strategy.trading_mode,
    }


def _order_json(ctx: RunContext) -> list[dict[str, Any]]:
    return [
        {
            "id": o.pk,
            "ref": o.client_order_ref,
            "role": o.role,
            "reason": o.reason,
            "side": o.side,
            "type": o.order_type,
            "quantity": str(o.quantity),
            "limit": str(o.limit_price) if o.limit_price is not None else None,
            "stop": str(o.stop_price) if o.stop_price is not None else None,
            "status": o.status,
            "filled": str(o.filled_quantity),
            "avg_fill_price": str(o.avg_fill_price) if o.avg_fill_price is not None else None,
            "commission": str(o.commission),
            "realized_pnl": str(o.realized_pnl),
            "error": o.error_message,
        }
        for o in ctx.orders
    ]


def _refused(
    ctx: RunContext, recorder: StepRecorder, broker: str, decision: ConflictDecision
) -> None:
    """End the run without an order: the conflict policy refused the signal."""
    assert ctx.signal is not None
    ctx.signal.refresh_from_db()
    ctx.stop_reason = f"conflict policy refused the signal: no order ({decision.detail})"
    recorder.output = {
        "broker": broker,
        "conflict_check": decision.as_check(),
        "signal_status": ctx.signal.status,
        "stopped": ctx.stop_reason,
        "orders": _order_json(ctx),
    }


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Raises BrokerRejectedError or BrokerUnavailableError (orders keep the reason), and
    LiveTradingNotAllowedError, before any order exists, for a live strategy whose owner does
    not hold ``strategies.trade_live`` now (it may have been revoked since the run was queued).
    Raises RunTimeBudgetExceededError, before any order exists, when the run's time budget ran
    out: it is checked right before the orders are created, and once created they are sent in
    full (a bracket is never half-submitted because of the budget).

    By the signal's position action (``apps.signals.position_plan``):
    - ``open`` (and ``scale_in``, a lone entry added to the held position): the account's
      conflict policy (``apps.orders.conflicts``) is decided under the (account, symbol) lock
      together with creating the orders — claimed for submission in that same transaction
      unless they displace other entries — and the broker's acceptance and the immediate
      poll's news are recorded together (``bracket_submit`` with ``sync``); refused, the
      signal becomes rejected with the ``account_conflict_policy`` check and the run ends
      without an order (``stop_reason``), successfully. Under ``strongest_wins`` the weaker
      strategies' unfilled entries are cancelled before this bracket is sent; if one filled
      first, this bracket is withdrawn unsent and the run ends the same way.
    - ``close``: the strategy's position is closed (``position_close``: its stop and target
      cancelled, one exit for the whole quantity, at market or a limit at the signal's entry).
    - ``reverse``: the close, and the new bracket once the close filled — now if it filled at
      once, else by a later monitor pass (``apps.orders.followups``).
    - ``scale_in``: once its lone entry filled, the position's stop and target are resized to
      the whole quantity (and moved to this signal's prices, or kept, per ``scale_in_exits``)
      — now, or by a later monitor pass.
    - ``trail``: the position's working stop is modified in place to the signal's stop.

    Approval queue (openspec operations spec): a new bracket (``open``) of a strategy whose
    approval is required (``Strategy.approval_required``) is placed under the conflict policy
    as above but not sent: it is held ``awaiting_approval`` with an ``OrderApproval`` that
    expires before the next bar (``apps.orders.approvals``); the step output's
    ``awaiting_approval`` says why and until when, and the run ends succeeded with the bracket
    waiting. Backtest and replay runs never wait (their paper book replays bars nobody could
    approve in time). Closes, reverses, scale-ins and trails manage a position already held
    and do not wait.
    """
    assert ctx.signal is not None
    live_trading_check(strategy=ctx.strategy, actor=None)
    broker = broker_for(
        trading_mode=ctx.strategy.trading_mode, account_broker=ctx.strategy.account.broker
    )
    deadline_check("creating and sending orders")  # the last point a run may stop unsent
    plan = ctx.signal.position_action or OPEN
    if plan in (CLOSE, REVERSE):
        _close(ctx, recorder, broker, reverse=plan == REVERSE)
        return
    if plan == TRAIL:
        _trail(ctx, recorder, broker)
        return
    assert ctx.sizing is not None
    held = None
    if plan == SCALE_IN:
        held = _open_position(ctx)
        if held is None:
            _nothing_held(ctx, recorder, broker.name, "scale in")
            return
    _open(ctx, recorder, broker, held)


def _action(ctx: RunContext, kind: str, position: StrategyPosition) -> PositionAction:
    """The run's position action on ``position`` (one per run and kind: a retried step finds
    it again)."""
    action, _ = PositionAction.objects.get_or_create(
        run=ctx.run,
        kind=kind,
        defaults={
            "account_id": position.account_id,
            "strategy": ctx.strategy,
            "symbol_id": position.symbol_id,
            "strategy_position": position,
            "market_time": ctx.run.as_of,
        },
    )
    return action


def _trail(ctx: RunContext, recorder: StepRecorder, broker: Broker) -> None:
    """Move the position's working stop to the signal's (tighter) stop, in place at the broker
    (``order_modify``: the same order, so the position is never without a stop)."""
    assert ctx.signal is not None and ctx.signal.stop_loss is not None
    position = _open_position(ctx)
    recorder.output = {"broker": broker.name, **broker.describe(), "orders": []}
    if position is None:
        _nothing_held(ctx, recorder, broker.name, "trail")
        return
    stop = (
        Order.objects.filter(
            strategy_position=position,
            role=OrderRole.STOP_LOSS,
            status__in=ACTIVE_ORDER_STATUSES,
        )
        .order_by("-pk")
        .first()
    )
    if stop is None:
        ctx.stop_reason = "no trail: the position has no working stop"
        recorder.output["stopped"] = ctx.stop_reason
        return
    action = _action(ctx, OrderReason.TRAIL, position)
    previous = stop.stop_price
    try:
        modification = order_modify(
            order=stop, stop_price=ctx.signal.stop_loss, action=action, market_time=ctx.run.as_of
        )
    except Exception as error:
        action.status, action.error_message = PositionActionStatus.FAILED, str(error)
        action.save(update_fields=["status", "error_message"])
        raise
    finally:
        stop.refresh_from_db()
        ctx.orders = [stop]
        recorder.output["orders"] = _order_json(ctx)
    action.status = PositionActionStatus.DONE
    action.detail = {
        **action.detail,
        "stop": {"order": stop.pk, "from": str(previous), "to": str(stop.stop_price)},
        "version": modification.version,
    }
    action.save(update_fields=["status", "detail"])
    recorder.output.update(
        {
            "position_action": action.pk,
            "trail": {"from": str(previous), "to": str(stop.stop_price)},
            "modification": {"version": modification.version, "status": modification.status},
        }
    )


def _open_position(ctx: RunContext) -> StrategyPosition | None:
    return (
        StrategyPosition.objects.filter(
            strategy=ctx.strategy, symbol_id=ctx.strategy.symbol_id, status=PositionStatus.OPEN
        )
        .order_by("-quantity")
        .first()
    )


def _nothing_held(ctx: RunContext, recorder: StepRecorder, broker: str, what: str) -> None:
    """The position went flat between the signal and this step: nothing to act on."""
    ctx.stop_reason = f"nothing to {what}: the strategy's position is flat by now"
    recorder.output = {"broker": broker, "stopped": ctx.stop_reason, "orders": []}


def _open(
    ctx: RunContext, recorder: StepRecorder, broker: Broker, held: StrategyPosition | None
) -> None:
    """Open a bracket (or, with ``held``, a scale-in entry) under the conflict policy."""
    assert ctx.signal is not None and ctx.sizing is not None
    action = _action(ctx, OrderReason.SCALE_IN, held) if held is not None else None
    awaits = (
        approval_reason(ctx.strategy)
        if held is None and ctx.run.trigger not in EVALUATION_TRIGGERS
        else ""
    )
    placement = entry_place(
        run=ctx.run,
        signal=ctx.signal,
        strategy=ctx.strategy,
        quantity=ctx.sizing.quantity,
        broker_name=broker.name,
        action=action,
        scale_in_position=held,
        claim=not awaits,  # a bracket held for approval stays pending until it is held
    )
    if not placement.decision.allowed:
        _refused(ctx, recorder, broker.name, placement.decision)
        return
    orders = placement.orders
    ctx.orders = orders
    if placement.decision.displaced:
        outcome = entry_displace(
            entries=placement.decision.displaced,
            by=ctx.strategy.name,
            confidence=ctx.signal.confidence,
        )
        if outcome.kept:
            lost = conflict_lost(
                signal=ctx.signal, orders=orders, why="; ".join(outcome.kept.values())
            )
            for order in orders:
                order.refresh_from_db()
            _refused(ctx, recorder, broker.name, lost)
            return
    if awaits:
        _await_approval(ctx, recorder, broker, placement.decision, awaits)
        return
    try:
        report = bracket_submit(
            orders=orders,
            broker=broker,
            market_time=ctx.run.as_of,
            claimed_by_caller=placement.claimed,
            sync=True,
        )
    finally:
        fresh = Order.objects.in_bulk([o.pk for o in orders])
        ctx.orders = orders = [fresh[o.pk] for o in orders]
        recorder.output = {
            "broker": broker.name,
            **broker.describe(),
            "conflict_check": placement.decision.as_check(),
            "orders": _order_json(ctx),
        }
    assert report is not None  # sync=True always reports
    recorder.output["new_fills"] = report.new_fills
    if action is not None:
        scale_in_plan(action=action)
        scale_in_continue(action=action, note=False)
        action.status = PositionActionStatus.DONE
        action.save(update_fields=["status"])
        recorder.output.update({"position_action": action.pk, "exits": action.detail["exits"]})


def _await_approval(
    ctx: RunContext,
    recorder: StepRecorder,
    broker: Broker,
    decision: ConflictDecision,
    why: str,
) -> None:
    """Hold the run's pending bracket for a person's approval (``approval_hold``) instead of
    sending it; nothing reaches the broker. The step output says it awaits approval, why, and
    until when."""
    approval = approval_hold(orders=ctx.orders, run=ctx.run, strategy=ctx.strategy, why=why)
    approval_needed_notify(approval)  # sent once the run's transaction commits; never raises
    fresh = Order.objects.in_bulk([o.pk for o in ctx.orders])
    ctx.orders = [fresh[o.pk] for o in ctx.orders]
    recorder.output = {
        "broker": broker.name,
        **broker.describe(),
        "conflict_check": decision.as_check(),
        "orders": _order_json(ctx),
        "awaiting_approval": {
            "approval": approval.pk,
            "why": why,
            "requested_quantity": str(approval.requested_quantity),
            "expires_at": approval.expires_at.isoformat(),
            "reason": f"the bracket awaits approval until "
            f"{approval.expires_at:%Y-%m-%d %H:%M} UTC: {why}",
        },
    }


def _close(ctx: RunContext, recorder: StepRecorder, broker: Broker, *, reverse: bool) -> None:
    """Close the strategy's position (``position_close``); for a reverse, then the new bracket
    once the close filled (``reverse_continue``)."""
    assert ctx.signal is not None
    position = _open_position(ctx)
    kind = OrderReason.REVERSE if reverse else OrderReason.CLOSE
    if position is None:
        _nothing_held(ctx, recorder, broker.name, kind)
        return
    request = CloseRequest(
        kind=kind,
        market_time=ctx.run.as_of,
        run=ctx.run,
        signal=ctx.signal,
        order_type=ctx.strategy.close_order_type,
        limit_price=ctx.signal.entry,
    )
    recorder.output = {"broker": broker.name, **broker.describe(), "position": position.pk}
    try:
        action = position_close(position=position, request=request, broker=broker)
    except (PositionNotOpenError, PositionCloseInProgressError) as error:
        ctx.stop_reason = f"no {kind}: {error}"
        recorder.output.update({"stopped": ctx.stop_reason, "orders": []})
        return
    finally:
        ctx.orders = list(Order.objects.filter(run=ctx.run).order_by("pk"))
        recorder.output["orders"] = _order_json(ctx)
    recorder.output.update(
        {
            "position_action": action.pk,
            "cancelled": action.detail.get("cancelled", []),
            "flat_before_close": action.detail.get("flat_before_close", False),
        }
    )
    if not reverse or action.detail.get("flat_before_close"):
        return
    assert ctx.sizing is not None
    reverse_plan(action=action, quantity=ctx.sizing.quantity)
    try:
        state = reverse_continue(action=action, note=False)
    finally:
        ctx.orders = list(Order.objects.filter(run=ctx.run).order_by("pk"))
        recorder.output["orders"] = _order_json(ctx)
    action.refresh_from_db()
    recorder.output["reverse"] = action.detail.get("then", {})
    if state == REFUSED:
        ctx.stop_reason = f"closed; not reversed: {action.detail['then'].get('detail', '')}"
