"""Step 6, order: decide the account's conflict policy and build the bracket under the
(account, symbol) lock, submit it once, record what the broker reports."""

from typing import Any

from apps.common.deadlines import deadline_check
from apps.lineage.services import StepRecorder
from apps.orders.broker_selection import broker_for
from apps.orders.conflicts import ConflictDecision, conflict_lost, entry_displace, entry_place
from apps.orders.models import Order
from apps.orders.services import bracket_submit
from apps.pipeline.context import RunContext
from apps.strategies.live_trading import live_trading_check

NAME = "order"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """The accepted signal and the sized quantity."""
    assert ctx.signal is not None and ctx.sizing is not None
    return {
        "signal_id": ctx.signal.pk,
        "quantity": str(ctx.sizing.quantity),
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

    The account's conflict policy (``apps.orders.conflicts``) is decided under the (account,
    symbol) lock together with creating the bracket, claimed for submission in that same
    transaction unless it displaces other entries (then pending until they are cancelled);
    the broker's acceptance and the immediate poll's news are recorded together (``bracket_submit``
    with ``sync``). Refused, the signal becomes
    rejected with the ``account_conflict_policy`` check and the run ends without an order
    (``stop_reason``), successfully. Under ``strongest_wins`` the weaker strategies' unfilled
    entries are cancelled before this bracket is sent; if one filled first, this bracket is
    withdrawn unsent and the run ends the same way.
    """
    assert ctx.signal is not None and ctx.sizing is not None
    live_trading_check(strategy=ctx.strategy, actor=None)
    broker = broker_for(
        trading_mode=ctx.strategy.trading_mode, account_broker=ctx.strategy.account.broker
    )
    deadline_check("creating and sending orders")  # the last point a run may stop unsent
    placement = entry_place(
        run=ctx.run,
        signal=ctx.signal,
        strategy=ctx.strategy,
        quantity=ctx.sizing.quantity,
        broker_name=broker.name,
        claim=True,
    )
    if not placement.decision.allowed:
        _refused(ctx, recorder, broker.name, placement.decision)
        return
    orders = placement.orders
    ctx.orders = orders
    if placement.decision.displaced:
        outcome = entry_displace(entries=placement.decision.displaced, by=ctx.strategy.name)
        if outcome.kept:
            lost = conflict_lost(
                signal=ctx.signal, orders=orders, why="; ".join(outcome.kept.values())
            )
            for order in orders:
                order.refresh_from_db()
            _refused(ctx, recorder, broker.name, lost)
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
