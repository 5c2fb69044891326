"""Step 6, order: build the bracket, submit it once, record what the broker reports."""

from typing import Any

from apps.common.deadlines import deadline_check
from apps.lineage.services import StepRecorder
from apps.orders.broker_selection import broker_for
from apps.orders.services import bracket_create, bracket_submit, orders_sync
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


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Raises BrokerRejectedError or BrokerUnavailableError (orders keep the reason), and
    LiveTradingNotAllowedError, before any order exists, for a live strategy whose owner does
    not hold ``strategies.trade_live`` now (it may have been revoked since the run was queued).
    Raises RunTimeBudgetExceededError, before any order exists, when the run's time budget ran
    out: it is checked right before the orders are created, and once created they are sent in
    full (a bracket is never half-submitted because of the budget).
    """
    assert ctx.signal is not None and ctx.sizing is not None
    live_trading_check(strategy=ctx.strategy, actor=None)
    broker = broker_for(
        trading_mode=ctx.strategy.trading_mode, account_broker=ctx.strategy.account.broker
    )
    deadline_check("creating and sending orders")  # the last point a run may stop unsent
    orders = bracket_create(
        run=ctx.run,
        signal=ctx.signal,
        strategy=ctx.strategy,
        quantity=ctx.sizing.quantity,
        broker_name=broker.name,
    )
    ctx.orders = orders
    try:
        bracket_submit(orders=orders, broker=broker, market_time=ctx.run.as_of)
        report = orders_sync(orders=orders, broker=broker)
    finally:
        for order in orders:
            order.refresh_from_db()
        recorder.output = {
            "broker": broker.name,
            **broker.describe(),
            "orders": _order_json(ctx),
        }
    recorder.output["new_fills"] = report.new_fills
