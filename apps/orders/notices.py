"""Notifications about orders: a filled order (entry, exit, stop-loss or take-profit) tells its
strategy's owner; a bracket held for approval tells who may decide it. Backtests (accounts with
a paper clock) tell nobody."""

import logging

from django.db import transaction

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.orders.models import Order, OrderApproval, OrderRole, OrderStatus

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


def approval_needed_notify(approval: OrderApproval) -> None:
    """Tell the people who may decide ``approval`` — the account's owner and members, and the
    strategy's owner (none: the operator) — that its bracket awaits them (``approval_needed``):
    side, quantity, entry, stop and target in the symbol's currency, the expiry (UTC) and the
    signed approve / reject links (``approval_links``: absolute when ``SIBYL_PUBLIC_URL`` is
    set). Once per approval. Never raises: the bracket waits whatever the notification does."""
    try:
        with transaction.atomic():  # a savepoint: an error leaves the run's transaction usable
            _approval_notify(approval)
    except Exception:
        logger.exception("approval-needed notification of approval %s", approval.pk)


def _approval_notify(approval: OrderApproval) -> None:
    # approvals → services → notices: imported here, where it runs, not at import time
    from apps.orders.approvals import approval_links

    approval = OrderApproval.objects.select_related("parent__symbol", "strategy", "account").get(
        pk=approval.pk
    )
    parent, account = approval.parent, approval.account
    if account.paper_clock is not None:  # a backtest's: never waits, never told
        return
    legs = {
        o.role: o.stop_price or o.limit_price
        for o in Order.objects.filter(parent_id=parent.pk).only("role", "stop_price", "limit_price")
    }
    links = approval_links(approval)
    users: list[int | None] = [
        approval.strategy.owner_id,
        account.owner_id,
        *account.members.values_list("pk", flat=True),
    ]
    entry = parent.limit_price or parent.stop_price or "market"
    notify(
        NotificationEvent.APPROVAL_NEEDED,
        users=list(dict.fromkeys(users)),
        title=(
            f"{parent.symbol.symbol} {parent.side} {approval.requested_quantity.normalize():f} "
            f"awaits approval ({approval.strategy.slug})"
        ),
        body=(
            f"Strategy {approval.strategy.name} on account {account.name}: {parent.side} "
            f"{approval.requested_quantity.normalize():f} {parent.symbol.symbol} at {entry}, "
            f"stop {legs.get(OrderRole.STOP_LOSS, '—')}, target "
            f"{legs.get(OrderRole.TAKE_PROFIT, '—')}. {approval.why}. It expires at "
            f"{approval.expires_at:%Y-%m-%d %H:%M} UTC.\n"
            f"Approve: {links['approve_url']}\nReject: {links['reject_url']}"
        ),
        url=links["approve_url"],
        key=f"approval:{approval.pk}",
    )
