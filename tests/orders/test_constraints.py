"""What must always hold of orders and fills is refused by PostgreSQL itself, whoever writes
(the services, the admin, a shell): each insert or update below breaks one constraint."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from apps.orders.models import Fill, Order, PaperExecution, PaperOrder
from tests.orders.helpers import make_bracket, make_strategy

pytestmark = pytest.mark.django_db
D = Decimal
NOW = datetime(2020, 1, 10, tzinfo=UTC)


def _refused(write: Callable[[], Any], constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        write()


def _copy(order: Order, **fields: Any) -> Order:
    """An insert of ``order`` under a new reference, with ``fields`` changed."""
    copy = Order.objects.get(pk=order.pk)
    copy.pk, copy.client_order_ref = None, f"{order.client_order_ref}-copy"
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save()
    return copy


@pytest.mark.parametrize(
    ("role", "fields", "constraint"),
    [
        # Also below its filled quantity (0): either rule may be the one named.
        ("entry", {"quantity": D("-1")}, "order_(quantity_not_negative|filled_within_quantity)"),
        ("entry", {"filled_quantity": D("-1")}, "order_filled_quantity_not_negative"),
        ("entry", {"filled_quantity": D("11")}, "order_filled_within_quantity"),
        ("entry", {"status": "done"}, "order_status_known"),
        ("entry", {"side": "HOLD"}, "order_side_known"),
        ("entry", {"order_type": "MOC"}, "order_type_known"),
        ("stop_loss", {"parent": None}, "order_child_has_parent"),
        ("take_profit", {"parent": None}, "order_child_has_parent"),
        ("entry", {"role": "stop_loss", "parent": None}, "order_child_has_parent"),
        ("take_profit", {"limit_price": None}, "order_limit_has_limit_price"),
        ("stop_loss", {"order_type": "STPLMT"}, "order_limit_has_limit_price"),
        ("stop_loss", {"stop_price": None}, "order_stop_has_stop_price"),
    ],
)
def test_an_order_breaking_a_rule_is_refused_by_the_database(
    role: str, fields: dict[str, Any], constraint: str
) -> None:
    # given a valid bracket of 10 (a limit take-profit, a stop stop-loss)
    orders = {o.role: o for o in make_bracket(make_strategy(), quantity="10")}
    order = orders[role]
    # when an order breaking one rule is inserted, or an existing one is changed to break it
    _refused(lambda: _copy(order, **fields), constraint)
    _refused(lambda: Order.objects.filter(pk=order.pk).update(**fields), constraint)
    # then nothing was written
    assert Order.objects.count() == 3


def test_an_entry_with_a_parent_is_refused() -> None:
    orders = {o.role: o for o in make_bracket(make_strategy())}
    entry, child = orders["entry"], orders["take_profit"]
    _refused(lambda: _copy(entry, parent=child), "order_child_has_parent")


def test_valid_edges_are_accepted() -> None:
    # a zero quantity (refused by the broker, not by the database) and a full fill
    orders = {o.role: o for o in make_bracket(make_strategy(), quantity="0")}
    assert Order.objects.filter(pk=orders["entry"].pk).update(filled_quantity=D(0)) == 1
    full = {o.role: o for o in make_bracket(make_strategy(), quantity="10")}["entry"]
    assert Order.objects.filter(pk=full.pk).update(filled_quantity=D(10), status="filled") == 1


@pytest.mark.parametrize("quantity", [D(0), D(-5)])
def test_a_fill_of_no_quantity_is_refused(quantity: Decimal) -> None:
    entry = make_bracket(make_strategy())[0]
    _refused(
        lambda: Fill.objects.create(
            order=entry, execution_id="x-1", executed_at=NOW, quantity=quantity, price=D(100)
        ),
        "fill_quantity_positive",
    )
    paper = PaperOrder.objects.create(
        client_order_ref=entry.client_order_ref,
        symbol_id=entry.symbol_id,
        bar_size="1 day",
        role="entry",
        side="BUY",
        order_type="MKT",
        quantity=D(10),
        time_in_force="GTC",
        accepted_at=NOW,
    )
    _refused(
        lambda: PaperExecution.objects.create(
            paper_order=paper,
            execution_id="paper-x-1",
            executed_at=NOW,
            quantity=quantity,
            price=D(100),
            commission=D(1),
        ),
        "paper_execution_quantity_positive",
    )
