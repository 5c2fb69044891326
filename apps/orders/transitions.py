"""The one home of an order's status: which changes are allowed, and the function that makes one.

Every change of ``Order.status`` in Sibyl goes through ``order_transition``; the table below is
the whole life of an order (openspec/specs/orders/spec.md, "Order status transitions"):

- ``pending`` → ``awaiting_approval``: the order step holds a bracket for a person's approval;
- ``awaiting_approval`` → ``pending``: a person approved the held bracket (it then goes the
  submit-once way); ``awaiting_approval`` → ``cancelled``: rejected, expired or withdrawn, never
  sent (``apps.orders.approvals``);
- ``pending`` → ``submitting``: the submit-once claim (``bracket_submit``);
- ``failed`` → ``submitting``: the retry pass claims a failed bracket to send it again;
- ``pending``/``submitting``/``failed`` → ``submitted``: the broker holds the order (its answer
  to the submission, broker news, or adoption by client order reference — ``failed`` only by
  adoption);
- ``submitting`` → ``rejected``/``failed``: the submission was refused / failed in transit;
- ``pending``/``submitting`` → ``failed``: reconciliation found the broker does not hold it;
- ``submitted``/``partially_filled`` → ``cancelled``/``rejected``: the broker ended it;
- ``pending`` → ``cancelled``: withdrawn before it was ever sent (the account's conflict policy
  refused the run after its bracket was created, or a stronger signal displaced it;
  ``apps.orders.conflicts.bracket_withdraw``);
- any status but ``filled`` → ``partially_filled``/``filled``: an execution was recorded. An
  order in doubt (``pending``, ``submitting``, ``failed``) is settled by its fill; a late
  execution report (the broker filled part before it cancelled or rejected the rest) moves a
  ``cancelled`` or ``rejected`` order too — fills are facts the broker reports.
  ``partially_filled`` → ``partially_filled`` is a further partial fill.

``filled`` is final: nothing leaves it.
"""

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from apps.common import metrics
from apps.common.errors import SibylError
from apps.orders.models import Order, OrderStatus

_S = OrderStatus
# from-status -> the statuses an order may move to from it. Nothing else is allowed.
ORDER_TRANSITIONS: Mapping[str, frozenset[str]] = {
    _S.AWAITING_APPROVAL: frozenset({_S.PENDING, _S.CANCELLED}),
    _S.PENDING: frozenset(
        {
            _S.AWAITING_APPROVAL,
            _S.SUBMITTING,
            _S.SUBMITTED,
            _S.FAILED,
            _S.CANCELLED,
            _S.PARTIALLY_FILLED,
            _S.FILLED,
        }
    ),
    _S.SUBMITTING: frozenset(
        {_S.SUBMITTED, _S.REJECTED, _S.FAILED, _S.PARTIALLY_FILLED, _S.FILLED}
    ),
    _S.FAILED: frozenset({_S.SUBMITTING, _S.SUBMITTED, _S.PARTIALLY_FILLED, _S.FILLED}),
    _S.SUBMITTED: frozenset({_S.CANCELLED, _S.REJECTED, _S.PARTIALLY_FILLED, _S.FILLED}),
    _S.PARTIALLY_FILLED: frozenset({_S.CANCELLED, _S.REJECTED, _S.PARTIALLY_FILLED, _S.FILLED}),
    _S.CANCELLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED}),
    _S.REJECTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED}),
    _S.FILLED: frozenset(),
}


class OrderTransitionError(SibylError):
    """An order status change the transition table does not allow (``order_id``,
    ``from_status``, ``to_status`` name it)."""

    def __init__(self, *, order_id: int | None, from_status: str, to_status: str) -> None:
        self.order_id, self.from_status, self.to_status = order_id, from_status, to_status
        super().__init__(
            f"order {order_id}: status {from_status} → {to_status} is not an allowed change"
        )


class OrderStatusMovedError(SibylError):
    """The order's stored status is no longer the one the caller read (another process changed
    it meanwhile); nothing was written."""

    def __init__(self, *, order_id: int | None, expected: str) -> None:
        self.order_id, self.expected = order_id, expected
        super().__init__(
            f"order {order_id}: status is no longer {expected} (changed by another process)"
        )


def transition_allowed(from_status: str, to_status: str) -> bool:
    """Whether the table allows ``from_status`` → ``to_status``; unknown statuses: False."""
    return to_status in ORDER_TRANSITIONS.get(from_status, frozenset())


def order_transition(order: Order, *, to: str, **fields: Any) -> Order:
    """Move ``order`` from its status (as read) to ``to``, writing ``fields`` (model field name
    -> value, e.g. ``error_message``, ``submitted_at``) and ``updated_at`` with it.

    One conditional UPDATE (``WHERE id = … AND status = <the status read>``): callers normally
    hold the order's row lock (``apps.orders.locks``), and without it a status changed by
    someone else meanwhile is never overwritten. ``order`` is updated in memory on success.
    Returns ``order``.

    Raises OrderTransitionError when the table does not allow the change (nothing written),
    OrderStatusMovedError when the stored status is no longer the one read, ValueError when
    ``fields`` holds ``status``.
    """
    if "status" in fields:
        raise ValueError("pass the new status as `to`, not as a field")
    before = order.status
    if not transition_allowed(before, to):
        raise OrderTransitionError(order_id=order.pk, from_status=before, to_status=to)
    values = {**fields, "status": to, "updated_at": timezone.now()}
    moved = Order.objects.filter(pk=order.pk, status=before).update(**values)
    if moved != 1:
        raise OrderStatusMovedError(order_id=order.pk, expected=before)
    for name, value in values.items():
        setattr(order, name, value)
    metrics.order_status(status=to, broker=order.broker)
    return order
