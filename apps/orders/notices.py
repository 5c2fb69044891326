"""Notifications about orders: a filled order (entry, exit, stop-loss or take-profit) tells its
strategy's owner. Backtests (accounts with a paper clock) tell nobody."""

import logging

from django.db import transaction

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.orders.models import Order, OrderRole, OrderStatus

logger = logging.getLogger(__name__)

_EVENTS: dict[str, tuple[str, str]] = {
    OrderRole.STOP_LOSS: (NotificationEvent.STOP_HIT, "stop-loss hit"),
    OrderRole.TAKE_PROFIT: (NotificationEvent.TARGET_HIT, "take-profit hit"),
}


def order_filled_notify(order: Order) -> None:
    """Tell the strategy's owner (none: the operator) that ``order`` is now filled whole: a
    stop-loss is ``stop_hit``, a take-profit ``target_hit``, any other order ``order_filled``.
    Once per order; a partial fill says nothing. Never raises (trading goes on)."""
    if order.status != OrderStatus.FILLED:
        return
    try:
        with transaction.atomic():  # a savepoint: an error leaves the fill's transaction usable
            _notify(order)
    except Exception:
        logger.exception("fill notification of order %s", order.pk)


def _notify(order: Order) -> None:
    row = (
        Order.objects.filter(pk=order.pk, account__paper_clock__isnull=True)
        .values_list("strategy__owner_id", "strategy__name", "symbol__symbol", "account__name")
        .first()
    )
    if row is None:  # a backtest's order
        return
    owner_id, strategy_name, symbol, account_name = row
    event, what = _EVENTS.get(str(order.role), (NotificationEvent.ORDER_FILLED, "order filled"))
    price = f"{order.avg_fill_price:f}" if order.avg_fill_price is not None else "?"
    notify(
        event,
        users=[owner_id],
        title=f"{symbol} {what}: {order.side} {order.filled_quantity:f} @ {price}",
        body=(
            f"Strategy {strategy_name} on account {account_name}: {order.role} order "
            f"{order.client_order_ref} filled, {order.side} {order.filled_quantity:f} "
            f"{symbol} at {price} on average; realized P&L {order.realized_pnl:f}, "
            f"commission {order.commission:f}."
        ),
        key=f"order:{order.pk}",
    )
