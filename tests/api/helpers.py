"""Shared helpers of the API tests: the strategies endpoint and its create body, a real
baseline run to read back through the API, and a query counter."""

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.lineage.models import Run
from apps.pipeline.executor import strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

LIST = "/api/v1/strategies/"
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # baseline: SELL, the LMT entry fills, then the stop


def detail(strategy: Strategy, suffix: str = "") -> str:
    """The URL of ``strategy`` under the strategies endpoint, with ``suffix`` (e.g. ``run/``)."""
    return f"{LIST}{strategy.pk}/{suffix}"


def payload(symbol: Symbol, template: PromptTemplate, /, **overrides: Any) -> dict[str, Any]:
    """A valid create body: a weekday-evening swing strategy on ``symbol``."""
    body: dict[str, Any] = {
        "name": "GOOG swing",
        "slug": "goog-swing",
        "symbol": symbol.pk,
        "bar_size": "1 day",
        "lookback": 120,
        "indicators": [{"name": "RSI", "params": {"timeperiod": 14}}, {"name": "MACD"}],
        "prompt_template": template.pk,
        "schedule_cron": "30 16 * * 1-5",
        "schedule_timezone": "America/New_York",
        "risk_per_trade_pct": "0.5",
        "order_type": "MKT",
    }
    return {**body, **overrides}


def baseline_run(symbol: Symbol, owner: User | None, **strategy_fields: Any) -> Run:
    """A real baseline run of a new strategy owned by ``owner`` as of 2012-06-01."""
    fields = {"order_type": "LMT", "time_in_force": "GTC", **strategy_fields}
    strategy = StrategyFactory.create(symbol=symbol, owner=owner, **fields)
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    assert run.status == "succeeded", run.error_message
    return run


def query_count(client: APIClient, url: str) -> int:
    """How many SQL queries a GET of ``url`` takes; asserts the response is a 200."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries)
