"""A plain-text report of a run: steps, signal, orders and fills."""

from apps.lineage.models import Run
from apps.orders.models import Order
from apps.signals.models import Signal


def _steps(run: Run) -> list[str]:
    lines = []
    for step in run.steps.all():
        duration = f"{step.duration_ms:9.1f} ms" if step.duration_ms is not None else ""
        error = f"  {step.error_type}: {step.error_message}" if step.error_type else ""
        skipped = f"  ({step.output.get('skipped')})" if step.status == "skipped" else ""
        lines.append(
            f"  {step.sequence}. {step.name:<10} {step.status:<9} {duration}{error}{skipped}"
        )
    return lines


def _signal(run: Run) -> list[str]:
    signal = Signal.objects.filter(run=run).first()
    if signal is None:
        return ["  signal: none"]
    lines = [
        f"  signal: {signal.action} {signal.status} confidence {signal.confidence} "
        f"entry {signal.entry} stop {signal.stop_loss} target {signal.take_profit} "
        f"reward/risk {signal.reward_risk}"
    ]
    lines += [f"    rejected: {reason}" for reason in signal.rejection_reasons]
    return lines


def _order(order: Order) -> list[str]:
    price = order.limit_price or order.stop_price or "MKT"
    lines = [
        f"  order {order.client_order_ref}: {order.side} {order.quantity} {order.order_type}"
        f" @ {price} {order.time_in_force} -> {order.status}"
        + (f" ({order.error_message})" if order.error_message else "")
    ]
    lines += [
        f"    fill {fill.execution_id}: {fill.quantity} @ {fill.price} on "
        f"{fill.executed_at:%Y-%m-%d %H:%M} commission {fill.commission} "
        f"realized P&L {fill.realized_pnl}"
        for fill in order.fills.all()
    ]
    return lines


def run_report(run: Run) -> str:
    """Several lines: the run's header, each step with status and duration, signal, orders."""
    lines = [f"run {run.pk} of {run.strategy.slug} as of {run.as_of.isoformat()}: {run.status}"]
    lines += _steps(run) + _signal(run)
    for order in run.orders.prefetch_related("fills").order_by("pk"):
        lines += _order(order)
    if run.error_message:
        lines.append(f"  error: {run.error_message}")
    return "\n".join(lines)
