"""Language-model usage summed per strategy and UTC day, in the database."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.analysis.models import LlmCall
from apps.analysis.selectors import LlmUsageRow, llm_usage_by_strategy_day
from apps.lineage.services import run_create
from apps.strategies.models import Strategy
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


def call(
    strategy: Strategy,
    at: datetime,
    *,
    prompt: int = 100,
    completion: int = 20,
    cost: str = "0.001",
    error: str = "",
    cache: str = "",
) -> LlmCall:
    """One LlmCall of a new run of ``strategy``, made at ``at``."""
    run = run_create(strategy_id=strategy.pk, as_of=at)
    llm_call = LlmCall.objects.create(
        run=run,
        strategy=strategy,
        model="gpt-4o-mini",
        response_format="json_schema",
        prompt_tokens=0 if error else prompt,
        completion_tokens=0 if error else completion,
        cost_usd=Decimal(0) if error else Decimal(cost),
        succeeded=not error,
        error=error,
        cache=cache,
    )
    # created_at is auto_now_add: set the time the call is supposed to have happened afterwards
    LlmCall.objects.filter(pk=llm_call.pk).update(created_at=at)
    return llm_call


@pytest.fixture
def strategies(db: None) -> tuple[Strategy, Strategy]:
    return StrategyFactory.create(slug="alpha"), StrategyFactory.create(slug="beta")


def test_calls_are_summed_per_strategy_and_utc_day(strategies: tuple[Strategy, Strategy]) -> None:
    alpha, beta = strategies
    # given alpha's calls on either side of midnight UTC (evening of the 1st in New York) …
    call(alpha, datetime(2024, 3, 1, 9, 0, tzinfo=UTC), prompt=1000, completion=200, cost="0.01")
    call(alpha, datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC), prompt=500, completion=50)
    call(alpha, datetime(2024, 3, 2, 0, 0, tzinfo=UTC), prompt=7, completion=3, cost="0.000123")
    call(alpha, datetime(2024, 3, 2, 0, 30, tzinfo=UTC), error="LlmCallError: HTTP 429")
    # … and beta's on the 1st
    call(beta, datetime(2024, 3, 1, 12, 0, tzinfo=UTC), prompt=40, completion=4, cost="0.5")
    # when summed while Django's current time zone is New York's, then days are UTC days
    with timezone.override("America/New_York"):
        rows = llm_usage_by_strategy_day()
    assert rows == [
        LlmUsageRow("alpha", date(2024, 3, 1), 2, 1500, 250, Decimal("0.011000"), 0),
        LlmUsageRow("beta", date(2024, 3, 1), 1, 40, 4, Decimal("0.500000"), 0),
        LlmUsageRow("alpha", date(2024, 3, 2), 2, 7, 3, Decimal("0.000123"), 1),
    ]


def test_answers_from_the_cache_are_not_usage(strategies: tuple[Strategy, Strategy]) -> None:
    alpha, _ = strategies
    day = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    call(alpha, day, prompt=1000, completion=200, cost="0.01", cache="miss")
    call(alpha, day, prompt=1000, completion=200, cost="0.01", cache="hit")  # no request made
    assert llm_usage_by_strategy_day() == [
        LlmUsageRow("alpha", date(2024, 3, 1), 1, 1000, 200, Decimal("0.010000"), 0)
    ]


def test_since_leaves_out_earlier_days(strategies: tuple[Strategy, Strategy]) -> None:
    alpha, _ = strategies
    call(alpha, datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC))
    call(alpha, datetime(2024, 3, 2, 0, 0, tzinfo=UTC), prompt=9)
    rows = llm_usage_by_strategy_day(since=date(2024, 3, 2))
    assert [(row.day, row.prompt_tokens) for row in rows] == [(date(2024, 3, 2), 9)]
    assert llm_usage_by_strategy_day(since=date(2024, 3, 3)) == []


def test_sums_are_made_in_one_query(
    strategies: tuple[Strategy, Strategy], django_assert_num_queries: object
) -> None:
    alpha, beta = strategies
    for hour in range(6):
        call(alpha if hour % 2 else beta, datetime(2024, 3, 1, hour, tzinfo=UTC))
    with django_assert_num_queries(1):  # type: ignore[operator]
        rows = llm_usage_by_strategy_day()
    assert [(row.strategy, row.calls) for row in rows] == [("alpha", 3), ("beta", 3)]


def test_command_prints_the_last_n_days_with_a_total(
    strategies: tuple[Strategy, Strategy],
) -> None:
    alpha, beta = strategies
    now = timezone.now()
    call(alpha, now, prompt=100, completion=10, cost="0.002")
    call(beta, now - timedelta(days=1), prompt=50, completion=5, cost="0.001")
    call(beta, now - timedelta(days=1), error="LlmCallError: timed out")
    call(alpha, now - timedelta(days=2), prompt=999)  # outside --days 2
    out = StringIO()
    call_command("llm_usage", "--days", "2", stdout=out)
    lines = [line.split() for line in out.getvalue().splitlines()]
    today, yesterday = now.date().isoformat(), (now - timedelta(days=1)).date().isoformat()
    assert lines[0] == [
        "strategy", "day", "(UTC)", "calls", "failed", "prompt", "tokens", "completion",
        "tokens", "USD",
    ]  # fmt: skip
    assert lines[2:] == [
        ["beta", yesterday, "2", "1", "50", "5", "0.001000"],
        ["alpha", today, "1", "0", "100", "10", "0.002000"],
        ["total", "3", "1", "150", "15", "0.003000"],
    ]


def test_command_without_calls_says_so(db: None) -> None:
    out = StringIO()
    call_command("llm_usage", stdout=out)
    assert out.getvalue() == "no language-model calls\n"


def test_command_refuses_a_days_below_one(db: None) -> None:
    with pytest.raises(CommandError, match="--days must be at least 1"):
        call_command("llm_usage", "--days", "0")
