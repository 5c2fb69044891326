"""The order status transition table (``apps.orders.transitions``): every change it lists is
accepted and written, every other one is refused with a domain error and writes nothing."""

from itertools import product

import pytest

from apps.orders.models import Order, OrderStatus
from apps.orders.transitions import (
    ORDER_TRANSITIONS,
    OrderStatusMovedError,
    OrderTransitionError,
    order_transition,
)
from tests.orders.helpers import make_bracket, make_strategy

pytestmark = pytest.mark.django_db

S = OrderStatus
# The table as the specification states it (openspec/specs/orders/spec.md).
EXPECTED = {
    S.AWAITING_APPROVAL: {S.PENDING, S.CANCELLED},
    S.PENDING: {
        S.AWAITING_APPROVAL,
        S.SUBMITTING,
        S.SUBMITTED,
        S.FAILED,
        S.CANCELLED,
        S.PARTIALLY_FILLED,
        S.FILLED,
    },
    S.SUBMITTING: {S.SUBMITTED, S.REJECTED, S.FAILED, S.PARTIALLY_FILLED, S.FILLED},
    S.FAILED: {S.SUBMITTING, S.SUBMITTED, S.PARTIALLY_FILLED, S.FILLED},
    S.SUBMITTED: {S.CANCELLED, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED},
    S.PARTIALLY_FILLED: {S.CANCELLED, S.REJECTED, S.PARTIALLY_FILLED, S.FILLED},
    S.CANCELLED: {S.PARTIALLY_FILLED, S.FILLED},
    S.REJECTED: {S.PARTIALLY_FILLED, S.FILLED},
    S.FILLED: set(),
}
LEGAL = sorted((a, b) for a, targets in EXPECTED.items() for b in targets)
ILLEGAL = sorted((a, b) for a, b in product(S.values, S.values) if b not in EXPECTED[S(a)])


def an_order_in(status: str) -> Order:
    entry = make_bracket(make_strategy())[0]
    Order.objects.filter(pk=entry.pk).update(status=status)
    entry.refresh_from_db()
    return entry


def test_the_table_covers_every_status_and_matches_the_specification() -> None:
    assert set(ORDER_TRANSITIONS) == set(S.values)
    assert {k: set(v) for k, v in ORDER_TRANSITIONS.items()} == EXPECTED


@pytest.mark.parametrize(("from_status", "to_status"), LEGAL)
def test_every_allowed_change_is_accepted_and_written(from_status: str, to_status: str) -> None:
    # given an order in from_status
    order = an_order_in(from_status)
    before = order.updated_at
    # when it moves to to_status with a field written alongside
    order_transition(order, to=to_status, error_message=f"{from_status}->{to_status}")
    # then the database holds the new status, the field and a fresh updated_at
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.error_message) == (to_status, f"{from_status}->{to_status}")
    assert stored.updated_at > before
    assert (order.status, order.updated_at) == (to_status, stored.updated_at)


@pytest.mark.parametrize(("from_status", "to_status"), ILLEGAL)
def test_every_other_change_is_refused_naming_the_order_and_both_statuses(
    from_status: str, to_status: str
) -> None:
    # given an order in from_status
    order = an_order_in(from_status)
    # when it is asked to move to a status the table does not allow
    with pytest.raises(OrderTransitionError) as refused:
        order_transition(order, to=to_status, error_message="never written")
    # then the error names the order and the change, and nothing was written
    assert str(refused.value) == (
        f"order {order.pk}: status {from_status} → {to_status} is not an allowed change"
    )
    assert (refused.value.from_status, refused.value.to_status) == (from_status, to_status)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.status, stored.error_message) == (from_status, "")
    assert order.status == from_status


def test_a_status_changed_meanwhile_is_never_overwritten() -> None:
    # given an order read as submitted, then cancelled by another process
    order = an_order_in(S.SUBMITTED)
    Order.objects.filter(pk=order.pk).update(status=S.CANCELLED)
    # when the stale copy is moved to filled (allowed from submitted)
    with pytest.raises(OrderStatusMovedError, match=f"order {order.pk}: status is no longer"):
        order_transition(order, to=S.FILLED)
    # then the other process's status stands
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_the_status_is_not_a_field() -> None:
    order = an_order_in(S.PENDING)
    with pytest.raises(ValueError, match="as `to`"):
        order_transition(order, to=S.SUBMITTING, status=S.FILLED)
    assert Order.objects.get(pk=order.pk).status == S.PENDING
