"""Trading accounts, their positions and portfolio, and strategy positions through the API:
each user sees only the accounts they own or are a member of (another's is a 404, as one that
does not exist), and the portfolio's numbers on a small known book."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.marketdata.models import Bar
from apps.orders.brokers import Execution
from apps.orders.services import orders_apply
from apps.positions.models import AccountPosition, StrategyPosition
from apps.strategies.models import ACCOUNT_NOT_USABLE
from apps.trading.models import Account
from apps.trading.services import account_default_for
from tests.api.conftest import results
from tests.api.helpers import LIST, payload
from tests.factories import (
    AccountFactory,
    PromptTemplateFactory,
    StrategyFactory,
    StrategyPositionFactory,
    SymbolFactory,
)
from tests.orders.helpers import AS_OF, make_bracket

pytestmark = pytest.mark.django_db
D = Decimal
ACCOUNTS = "/api/v1/accounts/"


def _body(owner: User, **overrides: object) -> dict[str, object]:
    """A valid strategy create body of ``owner`` (a new symbol and template of theirs)."""
    return payload(SymbolFactory.create(), PromptTemplateFactory.create(owner=owner), **overrides)


def _position_urls(account: Account, position_id: int) -> list[str]:
    return [
        f"{ACCOUNTS}{account.pk}/",
        f"{ACCOUNTS}{account.pk}/positions/",
        f"{ACCOUNTS}{account.pk}/portfolio/",
        f"/api/v1/strategy-positions/{position_id}/",
    ]


def test_a_user_sees_only_the_accounts_they_own_or_are_a_member_of(
    api: APIClient, other_api: APIClient, trader: User, other_trader: User, staff_api: APIClient
) -> None:
    # given each trader's default account, and the other's second account shared with trader
    mine = account_default_for(owner=trader)
    theirs = account_default_for(owner=other_trader)
    shared = AccountFactory.create(owner=other_trader, name="Shared")
    shared.members.add(trader)
    their_position = StrategyPositionFactory.create(
        strategy=StrategyFactory.create(owner=other_trader)
    )
    assert their_position.account == theirs

    # then each list holds exactly the visible accounts
    assert {a["id"] for a in results(api.get(ACCOUNTS))} == {mine.pk, shared.pk}
    assert {a["id"] for a in results(other_api.get(ACCOUNTS))} == {theirs.pk, shared.pk}
    assert {mine.pk, theirs.pk, shared.pk} <= {a["id"] for a in results(staff_api.get(ACCOUNTS))}
    # another user's account and position answer as a nonexistent one
    for url in _position_urls(theirs, their_position.pk):
        assert api.get(url).status_code == 404, url
        assert other_api.get(url).status_code == 200, url
        assert staff_api.get(url).status_code == 200, url
    for url in _position_urls(Account(pk=987654), 987654):
        assert api.get(url).status_code == 404, url
    # a member reads the shared account, its members and cash
    detail = api.get(f"{ACCOUNTS}{shared.pk}/").json()
    assert detail["members"] == [{"id": trader.pk, "username": trader.username}]
    assert detail["cash"] == [{"currency": "USD", "starting_cash": "1000000.00"}]
    assert (detail["kind"], detail["broker"], detail["owner_id"]) == (
        "paper",
        "paper",
        other_trader.pk,
    )


def test_strategy_positions_list_is_scoped_and_filtered(
    api: APIClient, trader: User, other_trader: User
) -> None:
    mine = StrategyPositionFactory.create(strategy=StrategyFactory.create(owner=trader))
    closed = StrategyPositionFactory.create(
        strategy=mine.strategy,
        side="SHORT",
        status="closed",
        quantity=D(0),
        closed_at=datetime(2012, 6, 2, tzinfo=UTC),
        realized_pnl=D("12.5"),
        outcome="win",
    )
    StrategyPositionFactory.create(strategy=StrategyFactory.create(owner=other_trader))

    rows = results(api.get("/api/v1/strategy-positions/"))
    assert [r["id"] for r in rows] == [closed.pk, mine.pk]  # newest first
    assert [r["id"] for r in results(api.get("/api/v1/strategy-positions/?status=open"))] == [
        mine.pk
    ]
    assert [r["id"] for r in results(api.get("/api/v1/strategy-positions/?side=SHORT"))] == [
        closed.pk
    ]
    filtered = api.get(f"/api/v1/strategy-positions/?account={mine.account_id}&strategy=0")
    assert results(filtered) == []


def test_posting_an_account_creates_a_paper_account_with_its_cash(
    api: APIClient, trader: User
) -> None:
    response = api.post(
        ACCOUNTS,
        {
            "name": "Euro book",
            "base_currency": "EUR",
            "broker": "ibkr",  # not an input: IBKR accounts are created by staff in the admin
            "position_mode": "hedge",
            "cash": [
                {"currency": "EUR", "starting_cash": "50000"},
                {"currency": "USD", "starting_cash": "1000"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["broker"], body["kind"], body["owner_id"], body["position_mode"]) == (
        "paper",
        "paper",
        trader.pk,
        "hedge",
    )
    assert body["cash"] == [
        {"currency": "EUR", "starting_cash": "50000.00"},
        {"currency": "USD", "starting_cash": "1000.00"},
    ]
    repeated = api.post(
        ACCOUNTS,
        {"name": "x", "cash": [{"currency": "USD", "starting_cash": "1"}] * 2},
        format="json",
    )
    assert repeated.status_code == 400 and "cash" in repeated.json()


def test_only_the_owner_changes_a_paper_account_and_only_staff_an_ibkr_one(
    api: APIClient, other_api: APIClient, staff_api: APIClient, trader: User, other_trader: User
) -> None:
    account = AccountFactory.create(owner=trader, name="Mine")
    account.members.add(other_trader)
    url = f"{ACCOUNTS}{account.pk}/"
    changed = api.patch(url, {"name": "Renamed", "same_direction_policy": "reject_duplicates"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["same_direction_policy"]) == (
        "Renamed",
        "reject_duplicates",
    )
    assert other_api.patch(url, {"name": "Member's"}).status_code == 403  # a member reads only
    ibkr = AccountFactory.create(owner=trader, broker="ibkr", broker_account_id="DU1234567")
    assert api.patch(f"{ACCOUNTS}{ibkr.pk}/", {"name": "x"}).status_code == 403
    staff_change = staff_api.patch(f"{ACCOUNTS}{ibkr.pk}/", {"position_mode": "hedge"})
    assert staff_change.status_code == 200
    assert api.put(url, {"name": "x"}).status_code == 405


def test_choosing_another_users_account_for_a_strategy_is_the_same_400_as_a_missing_one(
    api: APIClient, trader: User, other_trader: User
) -> None:
    theirs = account_default_for(owner=other_trader)
    shared = AccountFactory.create(owner=other_trader, name="Shared")
    shared.members.add(trader)
    answers = []
    for account_id in (theirs.pk, 987654):
        response = api.post(LIST, _body(trader, account=account_id), format="json")
        assert response.status_code == 400
        answers.append(response.json())
    assert answers[0] == answers[1] == {"account": [ACCOUNT_NOT_USABLE]}
    created = api.post(LIST, _body(trader, account=shared.pk), format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["account"], created.json()["account_name"]) == (shared.pk, "Shared")
    default = api.post(LIST, _body(trader, slug="other-slug"), format="json")
    assert default.json()["account"] == account_default_for(owner=trader).pk
    strategy_url = f"{LIST}{created.json()['id']}/"
    moved = api.patch(strategy_url, {"account": theirs.pk}, format="json")
    assert moved.status_code == 400 and moved.json() == {"account": [ACCOUNT_NOT_USABLE]}


def test_account_positions_show_both_levels(api: APIClient, trader: User) -> None:
    account = account_default_for(owner=trader)
    first = StrategyPositionFactory.create(strategy=StrategyFactory.create(owner=trader))
    StrategyPositionFactory.create(
        strategy=StrategyFactory.create(owner=trader, symbol=first.symbol),
        side="SHORT",
        quantity=D(4),
    )
    AccountPosition.objects.create(
        account=account,
        symbol=first.symbol,
        broker_quantity=D(7),
        strategy_quantity=D(6),
        unattributed_quantity=D(1),
        flagged_at=datetime(2012, 6, 3, tzinfo=UTC),
    )
    body = api.get(f"{ACCOUNTS}{account.pk}/positions/").json()
    [row] = body["account_positions"]
    assert (row["broker_quantity"], row["strategy_quantity"], row["unattributed_quantity"]) == (
        "7.0000",
        "6.0000",
        "1.0000",
    )
    assert row["flagged_at"] == "2012-06-03T00:00:00Z"
    [group] = body["symbols"]
    assert group["net_quantity"] == "6.0000"
    assert sorted(p["quantity"] for p in group["positions"]) == ["-4.0000", "10.0000"]


def test_portfolio_numbers_per_currency_and_per_strategy(api: APIClient, trader: User) -> None:
    # given a USD strategy with a win, a loss and an open long priced by a bar, and a EUR
    # strategy with an unpriced open short, on an account holding USD only
    account = AccountFactory.create(owner=trader, cash={"USD": D("100000")})
    usd = SymbolFactory.create(currency="USD")
    eur = SymbolFactory.create(currency="EUR")
    alpha = StrategyFactory.create(owner=trader, account=account, symbol=usd, name="Alpha")
    beta = StrategyFactory.create(owner=trader, account=account, symbol=eur, name="Beta")
    closed = {
        "status": "closed",
        "quantity": D(0),
        "average_cost": D(0),
        "closed_at": datetime(2012, 6, 2, tzinfo=UTC),
        "commission": D(2),
        "initial_risk": D(50),
    }
    StrategyPositionFactory.create(
        strategy=alpha, realized_pnl=D(98), r_multiple=D("1.96"), outcome="win", **closed
    )
    StrategyPositionFactory.create(
        strategy=alpha, realized_pnl=D(-52), r_multiple=D("-1.04"), outcome="loss", **closed
    )
    StrategyPositionFactory.create(
        strategy=alpha, average_cost=D("100.1"), commission=D(1), side="LONG", quantity=D(10)
    )
    StrategyPositionFactory.create(strategy=beta, side="SHORT", quantity=D(5), average_cost=D(50))
    Bar.objects.create(
        symbol=usd,
        bar_size="1 day",
        ts=datetime(2012, 6, 4, tzinfo=UTC),
        open=D(104),
        high=D(106),
        low=D(103),
        close=D(105),
        volume=D(1000),
    )

    body = api.get(f"{ACCOUNTS}{account.pk}/portfolio/").json()

    assert body["currencies"] == [
        {
            "currency": "EUR",
            "starting_cash": None,
            "open_positions": 1,
            "realized_pnl": "0.0000",
            "unrealized_pnl": "0.0000",
            "unpriced_positions": 1,
            "commission": "0.0000",
            "closed_positions": 0,
            "win_rate": None,
        },
        {
            "currency": "USD",
            "starting_cash": "100000.0000",
            "open_positions": 1,
            "realized_pnl": "46.0000",
            "unrealized_pnl": "49.0000",
            "unpriced_positions": 0,
            "commission": "5.0000",
            "closed_positions": 2,
            "win_rate": "0.5000",
        },
    ]
    a, b = body["strategies"]
    assert (a["strategy_name"], a["open_quantity"], a["average_r"], a["win_rate"]) == (
        "Alpha",
        "10.0000",
        "0.4600",
        "0.5000",
    )
    assert (b["strategy_name"], b["open_quantity"], b["average_r"], b["unpriced_positions"]) == (
        "Beta",
        "-5.0000",
        None,
        1,
    )


def test_a_strategy_position_shows_its_orders_and_fills(api: APIClient, trader: User) -> None:
    # given a bracket of the trader whose entry filled through the real fill path
    strategy = StrategyFactory.create(
        owner=trader,
        order_type="MKT",
        time_in_force="GTC",
        symbol=SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01")),
    )
    orders = make_bracket(strategy)
    entry = next(o for o in orders if o.role == "entry")
    orders_apply(
        states=[],
        executions=[Execution("x-1", entry.client_order_ref, AS_OF, D(10), D(100), D(1))],
    )
    position = StrategyPosition.objects.get(strategy=strategy)

    body = api.get(f"/api/v1/strategy-positions/{position.pk}/").json()

    assert (body["status"], body["quantity"], body["average_cost"]) == (
        "open",
        "10.0000",
        "100.10000000",
    )
    assert sorted(o["role"] for o in body["orders"]) == ["entry", "stop_loss", "take_profit"]
    [entry_row] = [o for o in body["orders"] if o["role"] == "entry"]
    assert [f["execution_id"] for f in entry_row["fills"]] == ["x-1"]
