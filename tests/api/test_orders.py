"""The orders API: orders (list, detail, cancel) and fills, on real runs and the paper broker."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from apps.lineage.models import Run
from apps.marketdata.models import Bar
from apps.orders.models import Fill, Order, PaperOrder
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.api.helpers import AS_OF, baseline_run, query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled_run(goog: Symbol, trader: User) -> Run:
    """The trader's baseline run: the SELL entry filled, then one exit filled, one cancelled."""
    return baseline_run(goog, trader)


def working_run(goog: Symbol, owner: User) -> Run:
    """A baseline run whose LMT bracket stays working: no bar after the as-of time is stored
    (deleted), so the paper broker cannot fill anything."""
    Bar.objects.filter(symbol=goog, ts__gt=AS_OF).delete()
    run = baseline_run(goog, owner)
    assert set(run.orders.values_list("status", flat=True)) == {"submitted"}
    return run


def orders_of(run: Run) -> dict[str, Order]:
    return {o.role: o for o in Order.objects.filter(run=run)}


def test_order_list_rows(api: APIClient, filled_run: Run) -> None:
    response = api.get("/api/v1/orders/")
    assert response.status_code == 200
    rows = {r["role"]: r for r in results(response)}
    assert set(rows) == {"entry", "take_profit", "stop_loss"}
    entry = rows["entry"]
    assert entry["run_id"] == filled_run.pk and entry["strategy_id"] == filled_run.strategy_id
    assert entry["symbol"] == "GOOG" and entry["status"] == "filled"
    assert entry["strategy_name"] == filled_run.strategy.name
    assert entry["fills_count"] == 1 and entry["filled_quantity"] == entry["quantity"]
    assert entry["avg_fill_price"] is not None and entry["flagged_at"] is None
    assert {"commission", "realized_pnl", "side", "order_type", "broker"} <= set(entry)
    exits = [rows["take_profit"], rows["stop_loss"]]
    assert sorted(r["fills_count"] for r in exits) == [0, 1]


def test_order_list_filters(api: APIClient, filled_run: Run, goog: Symbol) -> None:
    # given one exit flagged by reconciliation
    orders = orders_of(filled_run)
    closed = next(o for o in orders.values() if o.role != "entry" and o.status == "cancelled")
    Order.objects.filter(pk=closed.pk).update(flagged_at=timezone.now())

    def roles(query: str) -> set[str]:
        response = api.get(f"/api/v1/orders/?{query}")
        assert response.status_code == 200, response.content
        return {r["role"] for r in results(response)}

    # then
    everything = {"entry", "take_profit", "stop_loss"}
    assert roles("status=filled&status=cancelled") == everything
    assert roles("status=cancelled") == {closed.role}
    assert roles("status=submitted") == set()
    assert roles("role=entry") == {"entry"}
    assert roles("side=SELL") == {"entry"}
    assert roles("broker=paper") == everything and roles("broker=ibkr") == set()
    assert roles("flagged=true") == {closed.role}
    assert roles("flagged=false") == everything - {closed.role}
    assert roles(f"run={filled_run.pk}") == everything and roles("run=0") == set()
    assert roles(f"strategy={filled_run.strategy_id}") == everything
    assert roles(f"symbol={goog.pk}") == everything
    assert api.get("/api/v1/orders/?status=nonsense").status_code == 400


def test_order_list_pages_by_cursor(api: APIClient, filled_run: Run) -> None:
    first = api.get("/api/v1/orders/?page_size=2").json()
    second = api.get(first["next"]).json()
    ids = [o["id"] for o in first["results"] + second["results"]]
    assert ids == sorted(orders_of(filled_run)[r].pk for r in orders_of(filled_run))[::-1]
    assert second["next"] is None


def test_order_list_queries_do_not_grow_with_rows(
    api: APIClient, filled_run: Run, goog: Symbol, trader: User
) -> None:
    few = query_count(api, "/api/v1/orders/")
    baseline_run(goog, trader)
    assert Order.objects.count() == 6
    assert query_count(api, "/api/v1/orders/") == few


def test_order_detail_has_fills_and_run(api: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    response = api.get(f"/api/v1/orders/{entry.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["run_id"] == filled_run.pk and body["client_order_ref"] == entry.client_order_ref
    [fill] = body["fills"]
    assert fill["execution_id"] == entry.fills.get().execution_id
    assert fill["quantity"] == body["filled_quantity"]


def test_cancel_a_working_bracket(api: APIClient, goog: Symbol, trader: User) -> None:
    # given a working LMT bracket at the paper broker
    run = working_run(goog, trader)
    entry = orders_of(run)["entry"]
    # when the trader cancels the entry
    response = api.post(f"/api/v1/orders/{entry.pk}/cancel/")
    # then the entry and its children are cancelled here and at the broker
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"cancelled"}
    assert set(PaperOrder.objects.values_list("status", flat=True)) == {"cancelled"}


def test_cancel_a_working_child_only(staff_api: APIClient, goog: Symbol, trader: User) -> None:
    run = working_run(goog, trader)
    target = orders_of(run)["take_profit"]
    response = staff_api.post(f"/api/v1/orders/{target.pk}/cancel/")
    assert response.status_code == 200, response.content
    statuses = {o.role: o.status for o in orders_of(run).values()}
    assert statuses == {"entry": "submitted", "take_profit": "cancelled", "stop_loss": "submitted"}


def test_cancel_a_filled_order_is_409(api: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    response = api.post(f"/api/v1/orders/{entry.pk}/cancel/")
    assert response.status_code == 409
    assert "filled" in response.json()["detail"]
    assert Order.objects.get(pk=entry.pk).status == "filled"


def test_cancel_a_pending_order_is_409(api: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    Order.objects.filter(pk=entry.pk).update(status="pending")
    response = api.post(f"/api/v1/orders/{entry.pk}/cancel/")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"]


def test_cancel_needs_the_owner(
    other_api: APIClient, anonymous: APIClient, goog: Symbol, trader: User
) -> None:
    entry = orders_of(working_run(goog, trader))["entry"]
    assert other_api.post(f"/api/v1/orders/{entry.pk}/cancel/").status_code == 404
    assert anonymous.post(f"/api/v1/orders/{entry.pk}/cancel/").status_code == 401
    assert Order.objects.get(pk=entry.pk).status == "submitted"


def test_anonymous_gets_401(anonymous: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    for url in ("/api/v1/orders/", f"/api/v1/orders/{entry.pk}/", "/api/v1/fills/"):
        assert anonymous.get(url).status_code == 401, url


def test_another_users_orders_are_404(other_api: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    assert other_api.get(f"/api/v1/orders/{entry.pk}/").status_code == 404
    assert results(other_api.get("/api/v1/orders/")) == []
    assert results(other_api.get("/api/v1/fills/")) == []


def test_staff_see_every_order(staff_api: APIClient, filled_run: Run) -> None:
    assert len(results(staff_api.get("/api/v1/orders/"))) == 3
    assert len(results(staff_api.get("/api/v1/fills/"))) == 2


def test_fill_list_and_filters(api: APIClient, filled_run: Run) -> None:
    entry = orders_of(filled_run)["entry"]
    fill = entry.fills.get()

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/fills/?{query}")
        assert response.status_code == 200, response.content
        return [f["id"] for f in results(response)]

    everything = list(
        Fill.objects.filter(order__run=filled_run)
        .order_by("executed_at")
        .values_list("pk", flat=True)
    )
    assert ids("") == everything and len(everything) == 2
    assert ids(f"order={entry.pk}") == [fill.pk]
    assert ids(f"run={filled_run.pk}") == everything
    assert ids(f"strategy={filled_run.strategy_id}") == everything
    assert ids("run=0") == []
    after = fill.executed_at.isoformat().replace("+00:00", "Z")
    assert ids(f"executed_before={after}") == []
    assert ids(f"executed_after={after}")[0] == fill.pk
    assert ids("executed_after=2100-01-01T00:00:00Z") == []
    row = results(api.get(f"/api/v1/fills/?order={entry.pk}"))[0]
    assert row["run_id"] == filled_run.pk and row["order_id"] == entry.pk
    assert (row["symbol"], row["currency"]) == ("GOOG", "USD")
