"""Closing positions through the API: one strategy position, close-all of an account or a
strategy, and the position actions that record them — on the paper book, scoped by the
accounts a user owns or is a member of (staff: all)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.orders.brokers import BrokerUnavailableError
from apps.orders.models import Order, OrderReason, OrderRole, PositionAction
from apps.orders.paper_broker import PaperBroker
from apps.orders.position_actions import CloseRequest, position_close
from apps.orders.services import bracket_submit
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.api.conftest import results
from tests.factories import AccountFactory, StrategyFactory, SymbolFactory, make_bars
from tests.orders.helpers import AS_OF, make_bracket, open_long, strategy_on

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def symbol() -> Symbol:
    """Jan 1..9 close at 100 before the run (AS_OF, Jan 10); Jan 10..12 between 99 and 103."""
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [100.0] * 9 + [100.0, 101.0, 102.0], start=START)
    return symbol


@pytest.fixture
def account(trader: User) -> Account:
    return AccountFactory.create(owner=trader)


def close_url(position: StrategyPosition) -> str:
    return f"/api/v1/strategy-positions/{position.pk}/close/"


def test_the_owner_closes_a_position_and_sees_why_the_exit_exists(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    position = open_long(strategy_on(account, symbol))
    before = api.get(f"/api/v1/strategy-positions/{position.pk}/").json()
    assert sorted((o["role"], o["price"], o["status"]) for o in before["working_orders"]) == [
        ("stop_loss", "95.00000000", "submitted"),
        ("take_profit", "110.00000000", "submitted"),
    ]

    response = api.post(close_url(position), {"note": "earnings tonight"}, format="json")

    assert response.status_code == 200, response.content
    action = response.json()
    assert (action["kind"], action["status"], action["requested_by"], action["note"]) == (
        "person",
        "done",
        "trader",
        "earnings tonight",
    )
    [exit_order] = action["orders"]
    assert (exit_order["role"], exit_order["side"], exit_order["quantity"]) == (
        "exit",
        "SELL",
        "100.0000",
    )
    # no bar after now yet: the market exit works at the paper broker
    assert exit_order["status"] == "submitted" and exit_order["reason"] == "person"
    assert exit_order["action"]["requested_by"] == "trader"
    assert exit_order["run_id"] is None
    after = api.get(f"/api/v1/strategy-positions/{position.pk}/").json()
    assert [(o["role"], o["price"]) for o in after["working_orders"]] == [("exit", None)]
    stop_target = Order.objects.filter(strategy_position=position, parent__isnull=False)
    assert set(stop_target.values_list("status", flat=True)) == {"cancelled"}
    # the order list tells why each order exists
    rows = {o["role"]: o for o in results(api.get("/api/v1/orders/"))}
    assert (rows["entry"]["reason"], rows["entry"]["action"]) == ("signal", None)
    assert rows["exit"]["action"]["note"] == "earnings tonight"


def test_another_users_position_is_a_404_and_nothing_is_sent(
    other_api: APIClient, account: Account, symbol: Symbol
) -> None:
    position = open_long(strategy_on(account, symbol))

    response = other_api.post(close_url(position), {"note": "mine now"}, format="json")

    assert response.status_code == 404
    assert not PositionAction.objects.exists()
    assert not Order.objects.filter(role=OrderRole.EXIT).exists()


def test_a_member_of_the_account_closes_it(
    other_api: APIClient, other_trader: User, account: Account, symbol: Symbol
) -> None:
    account.members.add(other_trader)
    position = open_long(strategy_on(account, symbol))

    response = other_api.post(close_url(position), {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["requested_by"] == "other"
    assert PositionAction.objects.get().requested_by == other_trader


def test_staff_close_any_position(staff_api: APIClient, account: Account, symbol: Symbol) -> None:
    position = open_long(strategy_on(account, symbol))
    assert staff_api.post(close_url(position), {}, format="json").status_code == 200


def test_closing_a_flat_position_is_a_409_with_the_reason(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    position = open_long(strategy_on(account, symbol))
    make_bars(symbol, [103.0], start=datetime(2020, 1, 13, tzinfo=UTC))
    request = CloseRequest(kind=OrderReason.PERSON, market_time=datetime(2020, 1, 13, tzinfo=UTC))
    position_close(position=position, request=request)  # fills at the Jan 13 open

    response = api.post(close_url(position), {"note": "again"}, format="json")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "PositionNotOpenError" and "nothing to close" in body["detail"]
    assert PositionAction.objects.count() == 1


def test_a_second_close_while_the_first_works_is_a_409(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    position = open_long(strategy_on(account, symbol))
    assert api.post(close_url(position), {}, format="json").status_code == 200

    response = api.post(close_url(position), {}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "PositionCloseInProgressError"
    assert Order.objects.filter(role=OrderRole.EXIT).count() == 1


def waiting_entry(strategy: Strategy) -> Order:
    """A working limit entry of ``strategy`` far below the market: nothing filled."""
    Strategy.objects.filter(pk=strategy.pk).update(order_type="LMT")
    entry, *_ = make_bracket(strategy, quantity="10", entry="50", stop="45", target="60")
    entry.order_type, entry.limit_price = "LMT", D(50)
    entry.save()
    bracket_submit(
        orders=list(Order.objects.filter(run=entry.run)), broker=PaperBroker(), market_time=AS_OF
    )
    entry.refresh_from_db()
    assert entry.status == "submitted"
    return entry


def test_close_all_of_an_account_cancels_working_entries_and_closes_every_position(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    holding, waiting = strategy_on(account, symbol), strategy_on(account, symbol)
    position = open_long(holding)
    entry = waiting_entry(waiting)

    response = api.post(
        f"/api/v1/accounts/{account.pk}/close-all/", {"note": "flatten"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["action"]["kind"], body["action"]["status"], body["failures"]) == (
        "person",
        "done",
        [],
    )
    assert body["action"]["requested_by"] == "trader" and body["action"]["note"] == "flatten"
    assert entry.client_order_ref in body["cancelled"]
    [close] = body["closes"]
    assert close["strategy_position_id"] == position.pk
    assert close["orders"][0]["role"] == "exit"
    entry.refresh_from_db()
    assert entry.status == "cancelled"
    # the actions list shows the umbrella and the close, filtered by kind and account
    listed = results(api.get(f"/api/v1/position-actions/?account={account.pk}&kind=person"))
    assert {a["id"] for a in listed} == {body["action"]["id"], close["id"]}
    detail = api.get(f"/api/v1/position-actions/{close['id']}/").json()
    assert [o["role"] for o in detail["orders"]] == ["exit"]


def test_close_all_narrowed_to_a_strategy_leaves_the_others(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    mine, other = strategy_on(account, symbol), strategy_on(account, symbol)
    open_long(mine)
    kept = open_long(other)

    response = api.post(
        f"/api/v1/accounts/{account.pk}/close-all/",
        {"strategy": mine.pk, "symbol": symbol.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["closes"]) == 1
    by_strategy = api.post(f"/api/v1/strategies/{other.pk}/close-all/", {}, format="json")
    assert by_strategy.status_code == 200, by_strategy.content
    [close] = by_strategy.json()["closes"]
    assert close["strategy_position_id"] == kept.pk
    assert by_strategy.json()["action"]["strategy_id"] == other.pk


def test_close_all_of_someone_elses_account_or_strategy_is_a_404(
    other_api: APIClient, account: Account, symbol: Symbol
) -> None:
    strategy = strategy_on(account, symbol)
    open_long(strategy)

    assert other_api.post(f"/api/v1/accounts/{account.pk}/close-all/", {}).status_code == 404
    assert other_api.post(f"/api/v1/strategies/{strategy.pk}/close-all/", {}).status_code == 404
    assert results(other_api.get("/api/v1/position-actions/")) == []
    assert not PositionAction.objects.exists()


def test_close_all_refuses_a_strategy_of_another_account(
    api: APIClient, account: Account, symbol: Symbol
) -> None:
    foreign = StrategyFactory.create(symbol=symbol)

    response = api.post(
        f"/api/v1/accounts/{account.pk}/close-all/", {"strategy": foreign.pk}, format="json"
    )

    assert response.status_code == 400
    assert "strategy" in response.json()


def test_an_unreachable_broker_is_a_503_and_the_position_keeps_its_protection(
    api: APIClient, account: Account, symbol: Symbol, monkeypatch: pytest.MonkeyPatch
) -> None:
    position = open_long(strategy_on(account, symbol))

    def down(**_: object) -> None:
        raise BrokerUnavailableError("paper book unreachable")

    monkeypatch.setattr("apps.orders.position_actions.orders_sync", down)
    response = api.post(close_url(position), {"note": "try"}, format="json")

    assert response.status_code == 503
    assert "could not be cancelled" in response.json()["detail"]
    action = PositionAction.objects.get()
    assert action.status == "failed"
    stop_target = Order.objects.filter(strategy_position=position, parent__isnull=False)
    assert set(stop_target.values_list("status", flat=True)) == {"submitted"}
    assert Order.objects.get(role=OrderRole.EXIT).status == "cancelled"  # withdrawn unsent
