"""LLM budgets: a strategy's and a user's, per UTC day and month, checked before each call
(no request once reached) and shown with their use."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.analysis.models import LlmCall, LlmUserBudget
from apps.orders.models import Order
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory, UserFactory
from tests.factories import decision_answer as decision

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)
D = Decimal


def _run(strategy: Any, llm_server: Any) -> Any:
    llm_server.answer_with(decision())
    return strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")


def test_a_strategy_budget_reached_mid_day_fails_the_next_llm_step_without_a_request(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", llm_budget_daily_usd=D("0.05"))
    first = _run(strategy, llm_server)
    assert first.status == "succeeded", first.error_message
    call = LlmCall.objects.get(run=first)
    assert call.cost_usd > 0
    # earlier today the strategy spent all but less than one call's estimate of its day
    LlmCall.objects.filter(pk=call.pk).update(cost_usd=D("0.04999"))
    sent = len(llm_server.requests)

    second = _run(strategy, llm_server)

    assert second.status == "failed"
    assert "LlmBudgetReachedError" in second.error_message
    assert "the strategy's day budget is 0.05 USD, 0.049990 spent" in second.error_message
    assert len(llm_server.requests) == sent  # no request was made
    assert second.steps.get(name="llm").status == "failed"
    assert not Order.objects.filter(run=second).exists()
    # yesterday's spend does not count today
    LlmCall.objects.filter(pk=call.pk).update(created_at=timezone.now() - timedelta(days=1))
    third = _run(strategy, llm_server)
    assert third.status == "succeeded", third.error_message


def test_a_users_budget_covers_all_their_strategies(goog: Symbol, llm_server: Any) -> None:
    owner = UserFactory.create(username="spender")
    LlmUserBudget.objects.create(user=owner, monthly_usd=D("0.01"))
    one = StrategyFactory.create(symbol=goog, analyst="openai", owner=owner)
    other = StrategyFactory.create(symbol=goog, analyst="openai", owner=owner)
    first = _run(one, llm_server)
    LlmCall.objects.filter(run=first).update(cost_usd=D("0.01"))

    second = _run(other, llm_server)

    assert second.status == "failed"
    assert "the user's month budget is 0.01 USD" in second.error_message


def test_the_budget_api_shows_spend_and_what_remains(goog: Symbol, llm_server: Any) -> None:
    owner = UserFactory.create(username="watcher")
    stranger = UserFactory.create(username="stranger")
    strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", owner=owner, llm_budget_daily_usd=D("1.00")
    )
    run = _run(strategy, llm_server)
    LlmCall.objects.filter(run=run).update(cost_usd=D("0.25"))
    # an answer from the evaluation cache cost nothing
    hit = LlmCall.objects.get(run=run)
    hit.pk = None
    hit.cache = "hit"
    hit.save()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    rows = client.get(f"/api/v1/strategies/{strategy.pk}/llm-budget/").json()

    day = next(r for r in rows if (r["scope"], r["period"]) == ("strategy", "day"))
    assert (D(day["limit_usd"]), D(day["spent_usd"]), D(day["remaining_usd"])) == (
        D("1.00"),
        D("0.25"),
        D("0.75"),
    )
    month = next(r for r in rows if (r["scope"], r["period"]) == ("strategy", "month"))
    assert month["limit_usd"] is None and month["remaining_usd"] is None
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=stranger).key}")
    assert other.get(f"/api/v1/strategies/{strategy.pk}/llm-budget/").status_code == 404
