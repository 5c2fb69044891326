"""Cancelling a working order at its broker, and recording what the broker confirmed."""

from apps.common.errors import SibylError
from apps.orders.broker_selection import broker_named
from apps.orders.brokers import BrokerOrderState
from apps.orders.models import ACTIVE_ORDER_STATUSES, Order
from apps.orders.services import orders_apply


class OrderNotWorkingError(SibylError):
    """The order is not working at the broker (pending, submitting or finished): nothing to
    cancel. The API answers 409."""

    http_status = 409


def order_cancel(*, order: Order) -> Order:
    """Cancel a working order (``submitted`` or ``partially_filled``) at the broker it was sent
    to, and record the state the broker returned; returns the order as stored afterwards.

    For a parent (entry) order its working children (take-profit, stop-loss) are cancelled too:
    the broker is asked which of them it still holds as working after the parent's cancel (the
    paper broker and TWS cancel held children themselves) and only those are cancelled again.
    Fills are not recorded here; they come from the broker's executions (the monitor).

    Raises OrderNotWorkingError for an order that is not working, BrokerUnavailableError when
    the order's broker cannot be reached from this process.
    """
    if order.status not in ACTIVE_ORDER_STATUSES:
        raise OrderNotWorkingError(
            f"order {order.client_order_ref} is {order.status}: only submitted or partially "
            "filled orders can be cancelled"
        )
    broker = broker_named(order.broker)
    states: list[BrokerOrderState] = [broker.cancel(order.client_order_ref)]
    children = [
        child.client_order_ref
        for child in Order.objects.filter(parent=order, status__in=ACTIVE_ORDER_STATUSES)
    ]
    if children:
        held = broker.lookup(children)
        states += [held[ref] for ref in children if ref in held]
        states += [
            broker.cancel(ref)
            for ref in children
            if ref in held and held[ref].status == "submitted"
        ]
    orders_apply(states=states, executions=[])
    order.refresh_from_db()
    return order
