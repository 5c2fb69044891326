"""Strategies API: CRUD with the strategies-file validation rules, ownership, (de)activation,
run now (enqueued on the real Redis broker) and upcoming schedule slots."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.pipeline.tasks import execute_run
from apps.strategies.models import Strategy
from apps.strategies.schedule import next_slot_after
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.api.helpers import LIST, detail, payload
from tests.factories import PromptTemplateFactory, StrategyFactory, SymbolFactory
from tests.strategies.live import grant_live_trading

pytestmark = pytest.mark.django_db


def trader_template() -> PromptTemplate:
    """A template of the ``trader`` fixture's user (a strategy uses its owner's templates)."""
    return PromptTemplateFactory.create(owner=User.objects.get(username="trader"))


@pytest.fixture
def mine(trader: User) -> Strategy:
    return StrategyFactory.create(owner=trader, slug="mine", schedule_cron="0 22 * * 1-5")


@pytest.fixture
def theirs(other_trader: User) -> Strategy:
    return StrategyFactory.create(owner=other_trader, slug="theirs")


# --- authentication and ownership ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "{id}/"),
        ("patch", "{id}/"),
        ("delete", "{id}/"),
        ("post", "{id}/activate/"),
        ("post", "{id}/deactivate/"),
        ("post", "{id}/run/"),
        ("get", "{id}/next-slots/"),
    ],
)
def test_anonymous_gets_401(anonymous: APIClient, mine: Strategy, method: str, suffix: str) -> None:
    response = getattr(anonymous, method)(LIST + suffix.format(id=mine.pk), format="json")
    assert response.status_code == 401
    assert Strategy.objects.filter(pk=mine.pk, is_active=True).exists()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("put", "", {"name": "x"}),
        ("patch", "", {"name": "x"}),
        ("delete", "", None),
        ("post", "run/", {}),
        ("post", "activate/", None),
        ("post", "deactivate/", None),
        ("get", "next-slots/", None),
    ],
)
def test_another_users_strategy_is_not_found(
    api: APIClient, theirs: Strategy, method: str, suffix: str, body: Any
) -> None:
    response = getattr(api, method)(detail(theirs, suffix), body, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active and theirs.runs.count() == 0 and theirs.name != "x"


def test_list_shows_only_own_strategies_and_staff_sees_all(
    api: APIClient, staff_api: APIClient, mine: Strategy, theirs: Strategy
) -> None:
    ownerless = StrategyFactory.create(owner=None, slug="ownerless")
    assert [row["slug"] for row in results(api.get(LIST))] == ["mine"]
    staff_slugs = [row["slug"] for row in results(staff_api.get(LIST))]
    assert staff_slugs == sorted([mine.slug, theirs.slug, ownerless.slug])


def test_staff_reads_and_edits_another_users_strategy(
    staff_api: APIClient, theirs: Strategy, other_trader: User
) -> None:
    assert staff_api.get(detail(theirs)).json()["slug"] == "theirs"
    response = staff_api.patch(detail(theirs), {"name": "Reviewed"}, format="json")
    assert response.status_code == 200, response.json()
    theirs.refresh_from_db()
    assert (theirs.name, theirs.owner) == ("Reviewed", other_trader)
    assert staff_api.post(detail(theirs, "deactivate/")).json()["is_active"] is False


# --- list: filters, pagination, queries ------------------------------------------------------


def test_list_filters_by_active_symbol_mode_and_search(api: APIClient, trader: User) -> None:
    goog = SymbolFactory.create(symbol="GOOG")
    StrategyFactory.create(owner=trader, slug="goog-live", symbol=goog, trading_mode="live")
    StrategyFactory.create(owner=trader, slug="goog-idle", symbol=goog, is_active=False)
    StrategyFactory.create(owner=trader, slug="eur-swing", name="Euro swing")

    def slugs(query: str) -> list[str]:
        return [row["slug"] for row in results(api.get(f"{LIST}?{query}"))]

    assert slugs("is_active=false") == ["goog-idle"]
    assert slugs(f"symbol={goog.pk}") == ["goog-idle", "goog-live"]
    assert slugs("trading_mode=live") == ["goog-live"]
    assert slugs("search=SWING") == ["eur-swing"]
    assert slugs("search=goog-l") == ["goog-live"]


def test_list_pages(api: APIClient, trader: User) -> None:
    for n in range(5):
        StrategyFactory.create(owner=trader, slug=f"s{n}")
    first = api.get(f"{LIST}?page_size=2").json()
    second = api.get(f"{LIST}?page_size=2&page=2").json()
    assert first["count"] == 5 and first["previous"] is None and "page=2" in first["next"]
    assert [row["slug"] for row in first["results"]] == ["s0", "s1"]
    assert [row["slug"] for row in second["results"]] == ["s2", "s3"]
    assert api.get(f"{LIST}?page_size=2&page=9").status_code == 404


def test_list_queries_do_not_grow_with_the_number_of_strategies(
    api: APIClient, trader: User
) -> None:
    def list_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = api.get(LIST)
        assert response.status_code == 200
        return len(queries)

    StrategyFactory.create(owner=trader)
    one = list_queries()
    StrategyFactory.create_batch(19, owner=trader)
    assert len(results(api.get(LIST))) == 20
    assert list_queries() == one


# --- create ----------------------------------------------------------------------------------


def test_create_owns_validates_and_schedules(
    api: APIClient, trader: User, other_trader: User
) -> None:
    # given a symbol and a template
    symbol, template = SymbolFactory.create(symbol="GOOG"), trader_template()
    # when the trader creates a strategy, naming someone else as owner
    before = timezone.now()
    response = api.post(
        LIST, payload(symbol, template, owner=other_trader.pk, next_run_at=None), format="json"
    )
    # then it is theirs, defaults apply and the next slot is the scheduler's
    assert response.status_code == 201, response.json()
    body = response.json()
    strategy = Strategy.objects.get(slug="goog-swing")
    assert body["id"] == strategy.pk and body["owner"] == trader.pk == strategy.owner_id
    assert (body["symbol"], body["prompt_template"], body["order_type"]) == (
        symbol.pk,
        template.pk,
        "MKT",
    )
    assert body["risk_per_trade_pct"] == "0.500" and body["capital"] == "100000.00"
    assert body["analyst"] == "baseline" and body["is_active"] is True
    expected = next_slot_after("30 16 * * 1-5", "America/New_York", before)
    assert strategy.next_run_at == expected
    assert datetime.fromisoformat(body["next_run_at"].replace("Z", "+00:00")) == expected


def test_create_inactive_strategy_has_no_next_slot(api: APIClient) -> None:
    symbol, template = SymbolFactory.create(), trader_template()
    response = api.post(LIST, payload(symbol, template, is_active=False), format="json")
    assert response.status_code == 201
    assert response.json()["next_run_at"] is None


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"schedule_cron": "every day at noon"}, {"schedule_cron"}),
        ({"schedule_cron": "61 * * * *"}, {"schedule_cron"}),
        ({"schedule_cron": "0 0 31 2 *"}, {"schedule_cron"}),  # valid syntax, never fires
        ({"schedule_cron": "* * * * * */10"}, {"schedule_cron"}),  # croniter's seconds field
        ({"indicators": [{"name": "NOPE"}]}, {"indicators"}),
        ({"indicators": [{"name": "RSI", "params": {"period": 14}}]}, {"indicators"}),
        ({"indicators": {"name": "RSI"}}, {"indicators"}),
        ({"schedule_timezone": "Mars/Olympus"}, {"schedule_timezone"}),
        ({"bar_size": "2 days"}, {"bar_size"}),
        ({"symbol": 999999}, {"symbol"}),
        ({"prompt_template": 999999}, {"prompt_template"}),
        ({"slug": "Has Spaces"}, {"slug"}),
        ({"lookback": 5}, {"lookback"}),
        ({"llm_temperature": 3}, {"llm_temperature"}),
        ({"llm_endpoint": 999999}, {"llm_endpoint"}),
        ({"min_confidence": "1.5"}, {"min_confidence"}),
        ({"order_type": "STP"}, {"order_type"}),
        (
            {"schedule_cron": "bad", "schedule_timezone": "Nowhere", "indicators": [{"x": 1}]},
            {"schedule_cron", "schedule_timezone", "indicators"},
        ),
    ],
)
def test_create_rejects_invalid_configuration_with_field_errors(
    api: APIClient, overrides: dict[str, Any], fields: set[str]
) -> None:
    symbol, template = SymbolFactory.create(), trader_template()
    response = api.post(LIST, payload(symbol, template, **overrides), format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == fields, body
    assert all(isinstance(messages, list) and messages for messages in body.values())
    assert not Strategy.objects.exists()


def test_create_error_messages_name_the_problem(api: APIClient) -> None:
    symbol, template = SymbolFactory.create(), trader_template()
    body = api.post(
        LIST,
        payload(symbol, template, schedule_cron="nope", indicators=[{"name": "NOPE"}]),
        format="json",
    ).json()
    assert body["schedule_cron"] == ["invalid cron expression 'nope'"]
    assert "unknown TA-Lib function 'NOPE'" in body["indicators"][0]


def test_create_requires_the_identity_fields(api: APIClient) -> None:
    response = api.post(LIST, {}, format="json")
    assert response.status_code == 400
    assert {"name", "slug", "symbol", "bar_size", "prompt_template"} <= set(response.json())


def test_create_refuses_a_slug_in_use(api: APIClient, theirs: Strategy) -> None:
    symbol, template = SymbolFactory.create(), trader_template()
    response = api.post(LIST, payload(symbol, template, slug="theirs"), format="json")
    assert response.status_code == 400 and set(response.json()) == {"slug"}


def test_malformed_json_is_a_400(api: APIClient, mine: Strategy) -> None:
    for url, method in ((LIST, api.post), (detail(mine), api.patch)):
        response = method(url, data='{"name": "broken', content_type="application/json")
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]


# --- retrieve, update, delete ----------------------------------------------------------------


def test_retrieve_returns_every_configuration_field(api: APIClient, mine: Strategy) -> None:
    body = api.get(detail(mine)).json()
    assert body["slug"] == "mine" and body["indicators"] == [{"name": "RSI"}, {"name": "MACD"}]
    expected = {
        "id",
        "owner",
        "next_run_at",
        "created_at",
        "updated_at",
        "llm_model",
        "llm_temperature",
        "llm_max_tokens",
        "llm_endpoint",
        "llm_endpoint_name",
        "llm_timeout_s",
        "llm_accepts_images",
        "llm_response_format",
        "llm_fallback_model",
        "catch_up",
        "skip_closed_market",
        "max_entry_deviation_pct",
        "time_in_force",
        "trading_mode",
        "symbol_code",
    }
    assert expected <= set(body)
    assert body["symbol_code"] == mine.symbol.symbol


def test_patch_a_schedule_recomputes_the_next_slot(api: APIClient, mine: Strategy) -> None:
    mine.next_run_at = datetime(2030, 1, 1, tzinfo=UTC)
    mine.save()
    before = timezone.now()
    response = api.patch(
        detail(mine),
        {"schedule_cron": "15 9 * * *", "schedule_timezone": "Europe/London"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    mine.refresh_from_db()
    assert mine.next_run_at == next_slot_after("15 9 * * *", "Europe/London", before)
    assert (mine.schedule_cron, mine.schedule_timezone) == ("15 9 * * *", "Europe/London")


def test_patch_elsewhere_keeps_the_next_slot(api: APIClient, mine: Strategy) -> None:
    slot = timezone.now() + timedelta(hours=3)
    Strategy.objects.filter(pk=mine.pk).update(next_run_at=slot)
    response = api.patch(detail(mine), {"capital": "2500.50"}, format="json")
    assert response.status_code == 200
    assert response.json()["capital"] == "2500.50"
    mine.refresh_from_db()
    assert mine.next_run_at == slot


def test_a_schedule_patch_reschedules_that_strategy_only(
    api: APIClient, mine: Strategy, trader: User
) -> None:
    # Both without a next slot (e.g. saved before the dispatcher's next pass): saving one used
    # to schedule every such strategy.
    other = StrategyFactory.create(owner=trader, slug="other", schedule_cron="0 21 * * 1-5")
    Strategy.objects.filter(pk__in=[mine.pk, other.pk]).update(next_run_at=None)
    response = api.patch(detail(mine), {"schedule_cron": "30 14 * * *"}, format="json")
    assert response.status_code == 200
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.next_run_at is not None
    assert other.next_run_at is None


def test_patch_is_validated_against_the_stored_configuration(
    api: APIClient, mine: Strategy
) -> None:
    response = api.patch(detail(mine), {"schedule_timezone": "Atlantis/Capital"}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"schedule_timezone"}
    response = api.patch(
        detail(mine), {"indicators": [{"name": "RSI"}, {"name": "RSI"}]}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert "duplicate indicator key" in response.json()["indicators"][0]
    mine.refresh_from_db()
    assert mine.schedule_timezone == "UTC"


def test_put_replaces_the_configuration(api: APIClient, mine: Strategy, trader: User) -> None:
    grant_live_trading(trader)  # the body sets live mode
    symbol, template = SymbolFactory.create(), trader_template()
    body = payload(symbol, template, slug="mine-v2", name="Replaced", trading_mode="live")
    response = api.put(detail(mine), body, format="json")
    assert response.status_code == 200, response.json()
    mine.refresh_from_db()
    assert (mine.slug, mine.name, mine.symbol, mine.trading_mode) == (
        "mine-v2",
        "Replaced",
        symbol,
        "live",
    )
    assert api.put(detail(mine), {"name": "only a name"}, format="json").status_code == 400


def test_delete_a_strategy_without_runs(api: APIClient, mine: Strategy) -> None:
    assert api.delete(detail(mine)).status_code == 204
    assert not Strategy.objects.filter(pk=mine.pk).exists()


def test_delete_a_strategy_with_runs_is_a_conflict(api: APIClient, mine: Strategy) -> None:
    run_create(strategy_id=mine.pk, as_of=timezone.now())
    response = api.delete(detail(mine))
    assert response.status_code == 409
    assert response.json() == {
        "detail": "strategy mine has runs; deactivate it instead",
        "code": "StrategyHasRunsError",
    }
    assert Strategy.objects.filter(pk=mine.pk).exists()


# --- activate, deactivate --------------------------------------------------------------------


def test_deactivate_and_activate_are_idempotent_and_reschedule(
    api: APIClient, mine: Strategy
) -> None:
    for _ in range(2):
        response = api.post(detail(mine, "deactivate/"))
        assert response.status_code == 200
        assert (response.json()["is_active"], response.json()["next_run_at"]) == (False, None)
    before = timezone.now()
    for _ in range(2):
        response = api.post(detail(mine, "activate/"))
        assert response.status_code == 200 and response.json()["is_active"] is True
    mine.refresh_from_db()
    assert mine.is_active
    assert mine.next_run_at == next_slot_after("0 22 * * 1-5", "UTC", before)


# --- run now ---------------------------------------------------------------------------------


def queued_tasks(client: redis.Redis) -> list[tuple[str, list[Any]]]:
    """(task name, args) of each message waiting in the ``runs`` queue (kombu's Redis format:
    a JSON envelope whose body is base64 JSON ``[args, kwargs, embed]``)."""
    tasks = []
    for raw in client.lrange("runs", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


def test_run_now_creates_a_pending_manual_run_and_enqueues_it_after_commit(
    api: APIClient,
    goog: Symbol,
    trader: User,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a strategy on the shipped GOOG bars
    strategy = StrategyFactory.create(owner=trader, symbol=goog)
    # when the trader asks for a run as of 2012-06-01
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(
            detail(strategy, "run/"), {"as_of": "2012-06-01T00:00:00Z"}, format="json"
        )
        assert queued_tasks(runs_queue) == []  # nothing is sent before the commit
    # then a pending manual run exists, and its task waits in Redis
    assert response.status_code == 202
    run = Run.objects.get(strategy=strategy)
    assert response.json() == {"run_id": run.pk, "status": "pending"}
    assert (run.trigger, run.status, run.as_of) == (
        "manual",
        "pending",
        datetime(2012, 6, 1, tzinfo=UTC),
    )
    assert len(callbacks) == 1
    assert queued_tasks(runs_queue) == [("apps.pipeline.tasks.execute_run", [run.pk])]
    # and the task, executed with the queued arguments, runs it through the six steps
    _name, args = queued_tasks(runs_queue)[0]
    assert execute_run(*args) == "succeeded"
    run.refresh_from_db()
    assert (run.status, run.steps.count()) == ("succeeded", 6)


def test_run_now_defaults_to_now(
    api: APIClient,
    mine: Strategy,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(detail(mine, "run/"), format="json")
    assert response.status_code == 202
    run = Run.objects.get(pk=response.json()["run_id"])
    assert before <= run.as_of <= timezone.now()
    assert queued_tasks(runs_queue) == [("apps.pipeline.tasks.execute_run", [run.pk])]


def test_run_now_refuses_a_bad_or_future_as_of(
    api: APIClient, mine: Strategy, runs_queue: redis.Redis
) -> None:
    future = (timezone.now() + timedelta(days=1)).isoformat()
    for as_of in ("yesterday", future):
        response = api.post(detail(mine, "run/"), {"as_of": as_of}, format="json")
        assert response.status_code == 400 and set(response.json()) == {"as_of"}
    assert not Run.objects.exists() and queued_tasks(runs_queue) == []


# --- next slots ------------------------------------------------------------------------------


def test_next_slots_follow_the_schedule_in_utc(api: APIClient, mine: Strategy) -> None:
    Strategy.objects.filter(pk=mine.pk).update(
        schedule_cron="30 9 * * 1-5", schedule_timezone="America/New_York", is_active=False
    )
    before = timezone.now()
    response = api.get(detail(mine, "next-slots/") + "?count=3")
    assert response.status_code == 200
    slots = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in response.json()["slots"]]
    expected, moment = [], before
    for _ in range(3):
        moment = next_slot_after("30 9 * * 1-5", "America/New_York", moment)
        expected.append(moment)
    assert slots == expected
    assert all(s.tzinfo == UTC and s.astimezone(UTC).minute == 30 for s in slots)
    assert len(api.get(detail(mine, "next-slots/")).json()["slots"]) == 5


def test_next_slots_of_a_schedule_that_never_fires_is_empty(api: APIClient, mine: Strategy) -> None:
    # e.g. applied from a strategies file, whose rules accept the expression
    Strategy.objects.filter(pk=mine.pk).update(schedule_cron="0 0 31 2 *")
    assert api.get(detail(mine, "next-slots/")).json() == {"slots": []}


@pytest.mark.parametrize("count", ["0", "51", "many"])
def test_next_slots_count_is_1_to_50(api: APIClient, mine: Strategy, count: str) -> None:
    response = api.get(detail(mine, "next-slots/") + f"?count={count}")
    assert response.status_code == 400 and set(response.json()) == {"count"}


# --- live trading is a permission (strategies.trade_live) --------------------------------------


def assert_live_forbidden(response: Any) -> None:
    """403 in the API's domain-error shape, naming the permission."""
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["code"] == "LiveTradingNotAllowedError"
    assert "strategies.trade_live" in body["detail"]


def test_a_user_without_the_permission_cannot_make_a_strategy_live(
    api: APIClient, mine: Strategy
) -> None:
    # when a trader without the permission PATCHes live mode
    response = api.patch(detail(mine), {"trading_mode": "live"}, format="json")
    # then 403, and the strategy is still paper
    assert_live_forbidden(response)
    mine.refresh_from_db()
    assert mine.trading_mode == "paper"


def test_a_user_without_the_permission_cannot_create_a_live_strategy(api: APIClient) -> None:
    symbol, template = SymbolFactory.create(), trader_template()
    response = api.post(LIST, payload(symbol, template, trading_mode="live"), format="json")
    assert_live_forbidden(response)
    assert not Strategy.objects.exists()


def test_a_live_strategy_whose_user_lacks_the_permission_is_not_run_or_activated(
    api: APIClient, trader: User, runs_queue: redis.Redis
) -> None:
    # given a live strategy of a trader whose permission was taken away (or never given)
    strategy = StrategyFactory.create(owner=trader, trading_mode="live", is_active=False)
    # when they press Run now or Activate, or change it while it is live
    assert_live_forbidden(api.post(detail(strategy, "run/"), format="json"))
    assert_live_forbidden(api.post(detail(strategy, "activate/"), format="json"))
    assert_live_forbidden(api.patch(detail(strategy), {"capital": "1000000"}, format="json"))
    # then nothing ran, nothing was queued and nothing changed
    assert not Run.objects.exists() and queued_tasks(runs_queue) == []
    strategy.refresh_from_db()
    assert not strategy.is_active and strategy.capital != 1000000
    # but switching it back to paper is always allowed
    response = api.patch(detail(strategy), {"trading_mode": "paper"}, format="json")
    assert response.status_code == 200 and response.json()["trading_mode"] == "paper"


def test_staff_cannot_make_a_users_strategy_live_unless_both_hold_the_permission(
    staff_api: APIClient, staff: User, trader: User, mine: Strategy
) -> None:
    assert_live_forbidden(staff_api.patch(detail(mine), {"trading_mode": "live"}, format="json"))
    grant_live_trading(staff)
    response = staff_api.patch(detail(mine), {"trading_mode": "live"}, format="json")
    assert_live_forbidden(response)
    assert "its owner trader does not hold" in response.json()["detail"]
    grant_live_trading(trader)
    response = staff_api.patch(detail(mine), {"trading_mode": "live"}, format="json")
    assert response.status_code == 200, response.json()


def test_a_user_with_the_permission_sets_runs_and_activates_a_live_strategy(
    api: APIClient,
    trader: User,
    mine: Strategy,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    grant_live_trading(trader)
    response = api.patch(detail(mine), {"trading_mode": "live"}, format="json")
    assert response.status_code == 200 and response.json()["trading_mode"] == "live"
    assert api.post(detail(mine, "deactivate/"), format="json").status_code == 200
    assert api.post(detail(mine, "activate/"), format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(detail(mine, "run/"), format="json")
    assert response.status_code == 202
    assert queued_tasks(runs_queue) == [
        ("apps.pipeline.tasks.execute_run", [response.json()["run_id"]])
    ]
