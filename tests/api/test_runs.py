"""The lineage API: runs (list, whole lineage) and artifact downloads, on real runs."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.lineage.models import Artifact, Run
from apps.lineage.services import run_create
from apps.orders.models import Order
from apps.pipeline.executor import strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.api.helpers import AS_OF, baseline_run, query_count
from tests.factories import FillFactory, StrategyFactory

pytestmark = pytest.mark.django_db
STEP_NAMES = ["data", "indicators", "charts", "llm", "signal", "order"]


def pending_runs(strategy: Strategy, count: int) -> list[Run]:
    """``count`` pending runs of ``strategy`` (as of consecutive days), oldest first."""
    return [
        run_create(strategy_id=strategy.pk, trigger="api", as_of=AS_OF + timedelta(days=i))
        for i in range(count)
    ]


@pytest.fixture
def run(goog: Symbol, trader: User) -> Run:
    """The trader's baseline run: six steps, a SELL signal, a filled bracket."""
    return baseline_run(goog, trader)


def test_run_detail_shows_the_whole_lineage(api: APIClient, run: Run) -> None:
    # when
    response = api.get(f"/api/v1/runs/{run.pk}/")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == run.pk and body["status"] == "succeeded"
    assert body["strategy"] == {
        "id": run.strategy.pk,
        "slug": run.strategy.slug,
        "name": run.strategy.name,
    }
    assert [s["name"] for s in body["steps"]] == STEP_NAMES
    assert [s["sequence"] for s in body["steps"]] == sorted(s["sequence"] for s in body["steps"])
    data = body["steps"][0]
    assert data["output"]["last_close"] == "580.86000000"
    assert data["duration_ms"] is not None and data["error_type"] == ""
    charts = next(s for s in body["steps"] if s["name"] == "charts")
    kinds = {a["kind"]: a for a in charts["artifacts"]}
    assert set(kinds) == {"chart_png", "chart_json"}
    png = kinds["chart_png"]
    assert png["content_type"] == "image/png" and png["size_bytes"] > 0
    assert png["url"].endswith(f"/api/v1/artifacts/{png['id']}/")
    signal = body["signal"]
    assert signal["action"] == "SELL" and signal["status"] == "accepted"
    assert signal["checks"] and all(c["passed"] for c in signal["checks"])
    assert {"name", "passed", "detail"} <= set(signal["checks"][0])
    orders = {o["role"]: o for o in body["orders"]}
    assert set(orders) == {"entry", "take_profit", "stop_loss"}
    assert orders["entry"]["status"] == "filled" and len(orders["entry"]["fills"]) == 1
    assert body["duration_ms"] > 0 and body["signal_action"] == "SELL"


def test_run_detail_lists_language_model_calls(
    goog: Symbol, trader: User, api: APIClient, llm_server: Any
) -> None:
    # given a run through the OpenAI-compatible analyst (the scripted loopback server)
    from tests.factories import decision_answer

    llm_server.answer_with(decision_answer())
    strategy = StrategyFactory.create(symbol=goog, owner=trader, analyst="openai")
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # when
    body = api.get(f"/api/v1/runs/{run.pk}/").json()
    # then
    [call] = body["llm_calls"]
    assert call["prompt_tokens"] == 120 and call["completion_tokens"] == 40
    assert call["attempts"] >= 1 and call["succeeded"] is True
    assert {"model", "response_format", "latency_ms", "cost_usd"} <= set(call)
    # each attempt with its status and duration, and why the model stopped
    assert call["finish_reason"] == "stop"
    [attempt] = call["attempt_log"]
    assert attempt["attempt"] == 1 and attempt["status"] == 200
    assert attempt["duration_ms"] > 0


def add_orders(run: Run, count: int) -> None:
    """``count`` more filled orders on ``run`` (copies of its entry, one fill each)."""
    entry = Order.objects.get(run=run, role="entry")
    fill = entry.fills.get()
    for i in range(count):
        extra = Order.objects.get(pk=entry.pk)
        extra.pk, extra.client_order_ref = None, f"{entry.client_order_ref}-extra-{i}"
        extra.save()
        FillFactory.create(
            order=extra,
            execution_id=f"{fill.execution_id}-extra-{i}",
            executed_at=fill.executed_at,
            quantity=fill.quantity,
            price=fill.price,
        )


def test_run_detail_queries_do_not_grow_with_orders(
    goog: Symbol, trader: User, api: APIClient, run: Run
) -> None:
    # given a second run with six more orders and fills than the first
    bigger = baseline_run(goog, trader)
    add_orders(bigger, 6)
    rejected = baseline_run(goog, trader, min_reward_risk=Decimal("50"))
    assert bigger.orders.count() == run.orders.count() + 6
    # when / then: the same count (a run without orders skips the fills query)
    queries = query_count(api, f"/api/v1/runs/{run.pk}/")
    # the request's savepoint and its release (ATOMIC_REQUESTS), the token, the run with its
    # strategy and signal (and the signal's strategy and symbol), steps, artifacts, LLM calls,
    # orders, fills
    assert queries == 9
    assert query_count(api, f"/api/v1/runs/{bigger.pk}/") == queries
    assert query_count(api, f"/api/v1/runs/{rejected.pk}/") <= queries


def test_run_list_rows_carry_the_signal_without_steps(api: APIClient, run: Run) -> None:
    response = api.get("/api/v1/runs/")
    assert response.status_code == 200
    [row] = results(response)
    assert row["id"] == run.pk and row["signal_action"] == "SELL"
    assert row["strategy"]["slug"] == run.strategy.slug
    assert row["duration_ms"] > 0 and "steps" not in row


def test_run_list_queries_do_not_grow_with_rows(api: APIClient, trader: User) -> None:
    strategy = StrategyFactory.create(owner=trader)
    pending_runs(strategy, 2)
    few = query_count(api, "/api/v1/runs/")
    pending_runs(StrategyFactory.create(owner=trader), 8)
    assert query_count(api, "/api/v1/runs/") == few


def test_run_list_pages_by_cursor_without_overlap(api: APIClient, trader: User) -> None:
    runs = pending_runs(StrategyFactory.create(owner=trader), 5)
    first = api.get("/api/v1/runs/?page_size=2").json()
    second = api.get(first["next"]).json()
    assert [r["id"] for r in first["results"]] == [runs[4].pk, runs[3].pk]
    assert [r["id"] for r in second["results"]] == [runs[2].pk, runs[1].pk]


def test_run_list_filters(api: APIClient, trader: User) -> None:
    # given two strategies of the trader, one with a failed run
    one, two = StrategyFactory.create(owner=trader), StrategyFactory.create(owner=trader)
    mine = pending_runs(one, 3)
    theirs = pending_runs(two, 1)[0]
    Run.objects.filter(pk=mine[0].pk).update(status="failed")

    def ids(query: str) -> set[int]:
        response = api.get(f"/api/v1/runs/?{query}")
        assert response.status_code == 200, response.content
        return {r["id"] for r in results(response)}

    # then
    assert ids(f"strategy={one.pk}") == {r.pk for r in mine}
    assert ids(f"strategy_slug={two.slug}") == {theirs.pk}
    assert ids("status=failed") == {mine[0].pk}
    assert ids("trigger=api") == {*(r.pk for r in mine), theirs.pk}
    assert ids("trigger=schedule") == set()
    assert ids("as_of_after=2012-06-02T00:00:00Z&as_of_before=2012-06-03T00:00:00Z") == {mine[1].pk}
    assert ids("created_after=2100-01-01T00:00:00Z") == set()
    assert len(ids("created_before=2100-01-01T00:00:00Z")) == 4
    assert api.get("/api/v1/runs/?status=nonsense").status_code == 400
    # times with an offset are converted to UTC; one without a UTC equivalent is invalid input
    assert ids("as_of_after=2012-06-02T02%3A00%3A00%2B02%3A00") == {mine[1].pk, mine[2].pk}
    assert ids("as_of_after=2012-06-02T00%3A00%3A00%2B19%3A11") == {mine[1].pk, mine[2].pk}
    assert api.get("/api/v1/runs/?created_after=0001-01-01T00%3A00%3A00%2B01%3A00").status_code == (
        400
    )


def test_artifact_download_returns_the_png(api: APIClient, run: Run) -> None:
    artifact = Artifact.objects.get(step__run=run, kind="chart_png")
    response = api.get(f"/api/v1/artifacts/{artifact.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]


def test_an_artifact_whose_file_is_gone_is_404(api: APIClient, run: Run) -> None:
    artifact = Artifact.objects.get(step__run=run, kind="chart_png")
    artifact.file.storage.delete(str(artifact.file.name))
    response = api.get(f"/api/v1/artifacts/{artifact.pk}/")
    assert response.status_code == 404
    assert "missing from storage" in response.json()["detail"]


def test_anonymous_gets_401(anonymous: APIClient, run: Run) -> None:
    artifact = Artifact.objects.filter(step__run=run).first()
    assert artifact is not None
    for url in ("/api/v1/runs/", f"/api/v1/runs/{run.pk}/", f"/api/v1/artifacts/{artifact.pk}/"):
        assert anonymous.get(url).status_code == 401, url


def test_another_users_run_and_artifact_are_404(other_api: APIClient, run: Run) -> None:
    artifact = Artifact.objects.filter(step__run=run).first()
    assert artifact is not None
    assert other_api.get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert other_api.get(f"/api/v1/artifacts/{artifact.pk}/").status_code == 404
    assert results(other_api.get("/api/v1/runs/")) == []


def test_staff_see_every_run(staff_api: APIClient, run: Run) -> None:
    unowned = pending_runs(StrategyFactory.create(owner=None), 1)[0]
    assert {r["id"] for r in results(staff_api.get("/api/v1/runs/"))} == {run.pk, unowned.pk}
    assert staff_api.get(f"/api/v1/runs/{run.pk}/").status_code == 200
    assert staff_api.get(f"/api/v1/runs/{unowned.pk}/").json()["steps"] == []
