"""Row locks on orders, taken in one fixed order to avoid deadlocks.

Every ``SELECT … FOR UPDATE`` of orders in Sibyl is here. Orders are always locked in ascending
id order, and before the (account, symbol) rows (``apps.trading.locks``) and strategy
positions: two transactions locking overlapping sets wait for each other instead of
deadlocking. All
functions must be called inside a transaction (``transaction.atomic``); the locks are held
until it ends.
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from apps.orders.models import Order


def _orders_for_update(*, skip_locked: bool = False) -> QuerySet[Order]:
    # of=("self",): joined rows (the parent, via select_related) are read, not locked.
    return Order.objects.select_for_update(skip_locked=skip_locked, of=("self",))


def orders_lock(order_ids: Iterable[int]) -> list[Order]:
    """Lock the orders with ``order_ids`` (waiting for other holders) and return them fresh,
    by ascending id, with their parent loaded. Ids of missing orders are ignored."""
    return list(
        _orders_for_update().filter(pk__in=list(order_ids)).select_related("parent").order_by("pk")
    )


def orders_lock_by_ref(refs: Iterable[str]) -> dict[str, Order]:
    """Lock the orders with client order references ``refs`` (waiting for other holders);
    returns reference -> fresh order, in ascending id order. Unknown references are absent."""
    locked = _orders_for_update().filter(client_order_ref__in=list(refs)).order_by("pk")
    return {order.client_order_ref: order for order in locked}


def orders_lock_available(*, broker_name: str, statuses: Iterable[str]) -> dict[str, Order]:
    """Lock, without waiting, the orders sent to ``broker_name`` whose status is in
    ``statuses``; orders another transaction holds (an in-flight submission) are skipped.
    Returns reference -> fresh order, in ascending id order."""
    locked = (
        _orders_for_update(skip_locked=True)
        .filter(broker=broker_name, status__in=list(statuses))
        .order_by("pk")
    )
    return {order.client_order_ref: order for order in locked}


def order_lock(order_id: int) -> Order:
    """Lock one order (waiting for other holders) and return it fresh with its parent, symbol,
    account and run loaded (what a modification reads). Raises Order.DoesNotExist."""
    related = ("parent", "symbol", "account", "run")
    return _orders_for_update().select_related(*related).get(pk=order_id)
