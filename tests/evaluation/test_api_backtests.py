"""The backtests API: create (validation, cost estimate, max_cost refusal), progress, cancel,
resume, the report in JSON and CSV, trades with their runs, equity and drawdown series, and
who may see what (another user's backtest is a 404, staff see all)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.report import backtest_report
from apps.evaluation.services import backtest_run
from apps.lineage.models import Run
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.api.conftest import results, token_client
from tests.factories import PromptTemplateFactory, StrategyFactory, UserFactory

pytestmark = pytest.mark.django_db

BACKTESTS = "/api/v1/backtests/"


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="bt-owner")


@pytest.fixture
def api(owner: User) -> APIClient:
    return token_client(owner)


@pytest.fixture
def other_api(db: None) -> APIClient:
    return token_client(UserFactory.create(username="bt-other"))


@pytest.fixture
def staff_api(db: None) -> APIClient:
    return token_client(UserFactory.create(username="bt-staff", is_staff=True))


@pytest.fixture
def strategy(goog: Symbol, owner: User) -> Strategy:
    """A baseline strategy of ``owner`` on GOOG, weekdays at 22:00 UTC."""
    return StrategyFactory.create(
        symbol=goog,
        owner=owner,
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )


def _body(strategy: Strategy, /, **overrides: Any) -> dict[str, Any]:
    return {"strategy": strategy.slug, "start": "2012-03-05", "end": "2012-03-09", **overrides}


def _queued(runs_queue: redis.Redis) -> int:
    return int(runs_queue.llen("runs"))


def test_create_starts_the_variants_on_the_runs_queue(
    api: APIClient,
    strategy: Strategy,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    PromptTemplateFactory.create(
        name=strategy.prompt_template.name, owner=strategy.owner, version=2
    )
    body = _body(
        strategy,
        variants=[
            {"label": "base"},
            {"prompt_version": 2, "analyst": "baseline"},
        ],
        llm_cache="use",
        max_cost="0",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(BACKTESTS, body, format="json")

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["strategy_slug"] == strategy.slug
    assert created["status"] == "running"
    assert created["llm_cache"] == "use"
    assert created["created_by"] == "bt-owner"
    assert created["start"].startswith("2012-03-05T00:00:00")
    assert created["end"].startswith("2012-03-09T23:59:59")
    assert created["can_cancel"] is True and created["can_resume"] is False
    variants = created["variants"]
    assert [v["label"] for v in variants] == ["base", "prompt=v2,analyst=baseline"]
    assert [v["prompt_version"] for v in variants] == [None, 2]
    assert [v["slots_total"] for v in variants] == [5, 5]  # Monday to Friday
    # one task per variant was sent to the runs queue
    assert _queued(runs_queue) == 2
    # listed, and read back
    assert [row["id"] for row in results(api.get(BACKTESTS))] == [created["id"]]
    assert api.get(f"{BACKTESTS}{created['id']}/").json()["variants"] == variants


def test_validation_errors_are_clear_400s(api: APIClient, strategy: Strategy, goog: Symbol) -> None:
    def post(**overrides: Any) -> dict[str, Any]:
        response = api.post(BACKTESTS, _body(strategy, **overrides), format="json")
        assert response.status_code == 400, response.content
        return response.json()  # type: ignore[no-any-return]

    assert "before" in post(start="2012-03-09", end="2012-03-05")["end"][0]
    # a weekend: no schedule slot
    assert "no schedule slot" in post(start="2012-03-10", end="2012-03-11")["end"][0]
    assert "ISO 8601" in post(start="March")["start"][0]
    assert "ISO 8601" in post(start="2012-02-30")["start"][0]
    assert "longer than 3660 days" in post(start="1990-01-01")["end"][0]
    errors = post(variants=[{"label": "ok"}, {"prompt_version": 9}])["variants"]
    assert errors[0] == {}
    assert "No version 9" in errors[1]["prompt_version"][0]
    errors = post(variants=[{"llm_model": "gpt-99-imaginary"}])["variants"]
    assert "Unknown model 'gpt-99-imaginary'" in errors[0]["llm_model"][0]
    assert "strategy" in post(strategy="no-such-strategy")
    assert "strategy" in post(strategy=str(strategy.pk + 1000))
    # another user's prompt version of the same name is not one the owner may use
    PromptTemplateFactory.create(
        name=strategy.prompt_template.name, owner=UserFactory.create(), version=3
    )
    assert "prompt_version" in post(variants=[{"prompt_version": 3}])["variants"][0]
    # a priced model is known
    ok = api.post(
        f"{BACKTESTS}estimate/", _body(strategy, variants=[{"llm_model": "gpt-4o"}]), format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json() == {"estimate_usd": "0.000000", "slots": 5, "variants": 1}
    assert not Backtest.objects.exists()


def test_an_estimate_above_max_cost_is_refused_unless_confirmed(
    api: APIClient, goog: Symbol, owner: User, runs_queue: redis.Redis
) -> None:
    strategy = StrategyFactory.create(
        symbol=goog,
        owner=owner,
        analyst="openai",
        llm_model="gpt-4o",
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )
    estimate = api.post(f"{BACKTESTS}estimate/", _body(strategy), format="json").json()
    assert Decimal(estimate["estimate_usd"]) > 0
    assert estimate["slots"] == 5

    refused = api.post(BACKTESTS, _body(strategy, max_cost="0.000001"), format="json")

    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "BacktestCostAboveLimit"
    assert body["estimate_usd"] == estimate["estimate_usd"]
    assert body["max_cost_usd"] == "0.000001"
    assert "confirm=true" in body["detail"]
    assert not Backtest.objects.exists()

    confirmed = api.post(
        BACKTESTS, _body(strategy, max_cost="0.000001", confirm=True), format="json"
    )
    assert confirmed.status_code == 201, confirmed.content
    under = api.post(BACKTESTS, _body(strategy, max_cost="1000"), format="json")
    assert under.status_code == 201, under.content


def test_another_users_backtest_is_a_404_and_staff_see_all(
    api: APIClient,
    other_api: APIClient,
    staff_api: APIClient,
    strategy: Strategy,
    runs_queue: redis.Redis,
) -> None:
    created = api.post(BACKTESTS, _body(strategy), format="json").json()
    url = f"{BACKTESTS}{created['id']}/"

    assert results(other_api.get(BACKTESTS)) == []
    for suffix in ("", "progress/", "report/", "report-csv/", "series/", "variants/1/trades/"):
        assert other_api.get(f"{url}{suffix}").status_code == 404, suffix
    assert other_api.post(f"{url}cancel/").status_code == 404
    assert other_api.post(f"{url}resume/").status_code == 404
    # nor may they backtest the owner's strategy, by slug or id
    refused = other_api.post(BACKTESTS, _body(strategy), format="json")
    assert refused.status_code == 400
    assert refused.json()["strategy"] == ["No such strategy, or not one of yours."]
    by_id = other_api.post(BACKTESTS, _body(strategy, strategy=str(strategy.pk)), format="json")
    assert by_id.status_code == 400 and "strategy" in by_id.json()
    assert Backtest.objects.count() == 1

    assert [row["id"] for row in results(staff_api.get(BACKTESTS))] == [created["id"]]
    assert staff_api.get(f"{url}progress/").status_code == 200
    assert api.get(BACKTESTS, {"strategy": strategy.pk + 1}).json()["results"] == []
    assert api.get(BACKTESTS, {"status": "running"}).json()["count"] == 1


def test_cancel_then_resume_runs_every_slot_once(
    api: APIClient,
    strategy: Strategy,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    created = api.post(BACKTESTS, _body(strategy), format="json").json()
    url = f"{BACKTESTS}{created['id']}/"
    backtest = Backtest.objects.get(pk=created["id"])
    # a worker ran 2 of the 5 slots, then the backtest is cancelled
    backtest_run(backtest, max_slots=2)
    assert api.post(f"{url}resume/").status_code == 409  # running: not resumable

    cancelled = api.post(f"{url}cancel/")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["can_resume"] is True
    assert api.post(f"{url}cancel/").status_code == 409
    assert backtest_run(backtest).status == BacktestStatus.CANCELLED  # stops before a slot
    progress = api.get(f"{url}progress/").json()
    assert progress["status"] == "cancelled"
    assert [(v["slots_done"], v["slots_total"]) for v in progress["variants"]] == [(2, 5)]

    runs_queue.delete("runs")
    with django_capture_on_commit_callbacks(execute=True):
        resumed = api.post(f"{url}resume/", {}, format="json")

    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["status"] == "running"
    assert _queued(runs_queue) == 1
    # the worker picks it up: the 3 remaining slots run, none twice
    assert backtest_run(backtest).status == BacktestStatus.DONE
    variant = backtest.variants.get(reference=False)
    assert Run.objects.filter(strategy=variant.clone).count() == 5
    progress = api.get(f"{url}progress/").json()
    assert progress["status"] == "done"
    assert progress["variants"][0]["slots_done"] == 5
    assert api.post(f"{url}resume/").status_code == 409  # done


def test_report_csv_series_and_trades(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis
) -> None:
    created = api.post(
        BACKTESTS,
        _body(strategy, start="2012-03-01", end="2012-06-30", variants=[{"label": "base"}]),
        format="json",
    ).json()
    url = f"{BACKTESTS}{created['id']}/"
    backtest = backtest_run(Backtest.objects.get(pk=created["id"]))
    assert backtest.status == BacktestStatus.DONE

    report = api.get(f"{url}report/").json()
    assert report == backtest_report(backtest)
    # the browser app's export link: JSON even for a browser's Accept
    export = api.get(f"{url}report/?format=json", HTTP_ACCEPT="text/html,*/*")
    assert export["Content-Type"] == "application/json"
    assert export.json() == report
    row = report["variants"][0]
    assert row["trades"] > 0

    csv_response = api.get(f"{url}report-csv/")
    assert csv_response.status_code == 200
    assert csv_response["Content-Type"].startswith("text/csv")
    assert (
        csv_response["Content-Disposition"]
        == f'attachment; filename="backtest-{backtest.pk}-{strategy.slug}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(csv_response.content.decode())))
    assert [r["label"] for r in rows] == ["base", "buy and hold"]
    assert rows[0]["final_equity"] == row["final_equity"]

    series = api.get(f"{url}series/").json()
    assert [(s["variant"], s["label"]) for s in series["series"]] == [
        (1, "base"),
        (None, "buy and hold"),
    ]
    for curve, source in zip(series["series"], [row, report["buy_and_hold"]], strict=True):
        points = curve["points"]
        assert len(points) == report["trading_days"] > 60
        assert [Decimal(p["equity"]) for p in points] == [
            Decimal(p["equity"]) for p in source["equity"]
        ]
        peak = Decimal("-Infinity")
        deepest = Decimal(0)
        for point in points:
            peak = max(peak, Decimal(point["equity"]))
            assert Decimal(point["drawdown"]) == peak - Decimal(point["equity"]) >= 0
            deepest = max(deepest, Decimal(point["drawdown"]))
        assert deepest == Decimal(source["max_drawdown"])

    trades = api.get(f"{url}variants/1/trades/").json()
    assert trades["label"] == "base" and trades["currency"] == "USD"
    listed = trades["trades"]
    variant = backtest.variants.get(reference=False)
    positions = list(StrategyPosition.objects.filter(strategy=variant.clone).order_by("opened_at"))
    assert [t["position_id"] for t in listed] == [p.pk for p in positions]
    assert len(listed) == len(row["trade_list"])
    clone_runs = set(Run.objects.filter(strategy=variant.clone).values_list("pk", flat=True))
    closed = [t for t in listed if t["status"] == "closed"]
    assert closed
    for trade, position in zip(listed, positions, strict=True):
        assert trade["side"] == position.side
        assert Decimal(trade["realized_pnl"]) == position.realized_pnl
        assert Decimal(trade["quantity"]) == position.entry_quantity
        assert trade["opening_run_id"] in clone_runs
        if trade["status"] == "closed":
            assert trade["closing_run_id"] in clone_runs
            assert trade["exit_reason"]
            assert Decimal(trade["exit_price"]) == position.exit_price
            closing_run = Run.objects.get(pk=trade["closing_run_id"])
            assert closing_run.as_of <= datetime.fromisoformat(trade["closed_at"])
        else:
            assert trade["closing_run_id"] is None
    assert api.get(f"{url}variants/2/trades/").status_code == 404


def test_backtest_accounts_are_not_listed(
    api: APIClient, strategy: Strategy, owner: User, runs_queue: redis.Redis
) -> None:
    before = [row["id"] for row in results(api.get("/api/v1/accounts/"))]
    assert before == [strategy.account_id]
    created = api.post(BACKTESTS, _body(strategy), format="json").json()
    variant_account = created["variants"][0]["account_id"]
    assert Account.objects.get(pk=variant_account).paper_clock == datetime(2012, 3, 5, tzinfo=UTC)

    after = [row["id"] for row in results(api.get("/api/v1/accounts/"))]

    assert after == before
