"""Performance API: a strategy's and an account's P&L per currency with the equity curve, and
P&L per prompt version and model; scoped to what the user may see (others' → 404). Figures
are the hand-computed ones of tests/composition/helpers.py."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.trading.models import AccountCash
from tests.api.helpers import query_count
from tests.composition.helpers import scenario
from tests.factories import PromptTemplateFactory, StrategyPositionFactory

pytestmark = pytest.mark.django_db


def test_strategy_performance_per_currency_with_its_equity_curve(
    api: APIClient, trader: User
) -> None:
    s = scenario(owner=trader)
    response = api.get(f"/api/v1/strategies/{s.strategy.pk}/performance/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["strategy"] == s.strategy.pk
    (usd,) = body["currencies"]
    assert {k: v for k, v in usd.items() if k != "equity"} == {
        "currency": "USD",
        "trades": 1,
        "wins": 1,
        "losses": 0,
        "breakevens": 0,
        "win_rate": "1.0000",
        "average_r": "1.9800",
        "r_trades": 1,
        "realized_pnl": "198.0000",
        "unrealized_pnl": "19.0000",
        "commission": "3.0000",
        "open_positions": 1,
        "unpriced_positions": 0,
        "starting_equity": "10000.0000",
        "max_drawdown": "80.0000",
        "max_drawdown_fraction": "0.0078",
    }
    assert usd["equity"] == [
        {"date": "2012-06-01", "equity": "10000.0000", "drawdown": "0.0000"},
        {"date": "2012-06-02", "equity": "10099.0000", "drawdown": "0.0000"},
        {"date": "2012-06-03", "equity": "10297.0000", "drawdown": "0.0000"},
        {"date": "2012-06-04", "equity": "10217.0000", "drawdown": "80.0000"},
    ]


def test_another_users_strategy_performance_is_not_found(
    api: APIClient, other_api: APIClient, staff_api: APIClient, anonymous: APIClient, trader: User
) -> None:
    url = f"/api/v1/strategies/{scenario(owner=trader).strategy.pk}/performance/"
    assert other_api.get(url).status_code == 404
    assert anonymous.get(url).status_code == 401
    assert staff_api.get(url).status_code == 200
    assert api.get("/api/v1/strategies/999999/performance/").status_code == 404


def test_account_performance_for_its_owner_and_members_only(
    api: APIClient, other_api: APIClient, staff_api: APIClient, trader: User, other_trader: User
) -> None:
    s = scenario(owner=trader)
    account = s.strategy.account
    AccountCash.objects.filter(account=account, currency="USD").update(starting_cash=50000)
    url = f"/api/v1/accounts/{account.pk}/performance/"

    response = api.get(url)

    assert response.status_code == 200, response.content
    (usd,) = response.json()["currencies"]
    assert response.json()["account"] == account.pk
    assert (usd["realized_pnl"], usd["unrealized_pnl"]) == ("198.0000", "19.0000")
    assert [p["equity"] for p in usd["equity"]] == [
        "50000.0000", "50099.0000", "50297.0000", "50217.0000",
    ]  # fmt: skip
    assert other_api.get(url).status_code == 404
    account.members.add(other_trader)
    assert other_api.get(url).status_code == 200
    assert staff_api.get(url).status_code == 200


def test_performance_reads_take_a_constant_number_of_queries(api: APIClient, trader: User) -> None:
    s = scenario(owner=trader)
    url = f"/api/v1/strategies/{s.strategy.pk}/performance/"
    before = query_count(api, url)
    for _ in range(5):
        StrategyPositionFactory.create(strategy=s.strategy, status="closed", quantity=0,
                                       closed_at=s.p1.closed_at, outcome="breakeven")  # fmt: skip
    assert query_count(api, url) == before


def test_prompt_performance_covers_the_users_strategies_only(
    api: APIClient, other_api: APIClient, staff_api: APIClient, trader: User, other_trader: User
) -> None:
    template = PromptTemplateFactory.create(name="swing", version=2)
    scenario(owner=trader, template=template, model="gpt-test")

    response = api.get("/api/v1/performance/prompts/")

    assert response.status_code == 200, response.content
    untracked, swing = response.json()
    names = ("template", "template_name", "template_version", "llm_model")
    assert {k: swing[k] for k in names} == {
        "template": template.pk,
        "template_name": "swing",
        "template_version": 2,
        "llm_model": "gpt-test",
    }
    assert (swing["currency"], swing["trades"], swing["realized_pnl"]) == ("USD", 1, "198.0000")
    assert (swing["average_r"], swing["max_drawdown"]) == ("1.9800", "0.0000")
    assert (untracked["template"], untracked["template_version"]) == (None, None)
    assert (untracked["unrealized_pnl"], untracked["max_drawdown"]) == ("19.0000", "80.0000")
    assert untracked["win_rate"] is None and "equity" not in untracked
    assert other_api.get("/api/v1/performance/prompts/").json() == []
    assert len(staff_api.get("/api/v1/performance/prompts/").json()) == 2
    assert Decimal(untracked["max_drawdown_fraction"]) == Decimal("0.8081")
