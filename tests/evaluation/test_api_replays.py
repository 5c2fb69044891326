"""The replays API: a replay created (and its cost estimated) from a backtest's variant or a
strategy's live runs over a window, with variants on other models and LLM endpoints; who may
replay what, which endpoints a variant may ask, a window without source runs, the cost
refusal, and a task queue that is down."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.evaluation.models import Backtest, BacktestKind, BacktestStatus
from apps.evaluation.replay import ReplaySpec, replay_create
from apps.evaluation.services import BacktestError, backtest_create, backtest_run
from apps.lineage.models import Run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.conftest import token_client
from tests.factories import LlmEndpointFactory, RunFactory, StrategyFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.llm_server import ScriptedLlmServer
from tests.redis_server import RedisServer, broker_at

pytestmark = pytest.mark.django_db

REPLAYS = "/api/v1/backtests/replays/"
ESTIMATE = "/api/v1/backtests/replays/estimate/"
HOLD = decision(action="HOLD", entry=None, stop_loss=None, take_profit=None)
# the window of the live runs below: the week of 2012-03-05 (weekdays at 22:00 UTC)
WEEK = [datetime(2012, 3, day, 22, tzinfo=UTC) for day in (5, 6, 7, 8, 9)]


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="replay-owner")


@pytest.fixture
def api(owner: User) -> APIClient:
    return token_client(owner)


@pytest.fixture
def other_api(db: None) -> APIClient:
    return token_client(UserFactory.create(username="replay-other"))


@pytest.fixture
def staff_api(db: None) -> APIClient:
    return token_client(UserFactory.create(username="replay-staff", is_staff=True))


@pytest.fixture
def strategy(goog: Symbol, owner: User) -> Strategy:
    """An OpenAI-analyst strategy of ``owner`` on GOOG (priced model), weekdays 22:00 UTC."""
    return StrategyFactory.create(
        symbol=goog,
        owner=owner,
        analyst="openai",
        llm_model="gpt-4o-mini",
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )


@pytest.fixture
def other_server(settings: Any) -> Iterator[ScriptedLlmServer]:
    """A second loopback LLM server, reachable under the outbound URL policy."""
    server = ScriptedLlmServer()
    server.start()
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]
    yield server
    server.stop()


def _live_runs(strategy: Strategy) -> list[Run]:
    """Finished live runs of ``strategy`` at each slot of ``WEEK`` (not executed: stored
    rows), plus runs a replay of that week leaves out: one still running, one the week
    after."""
    runs = [
        RunFactory.create(strategy=strategy, trigger=trigger, as_of=as_of, status="succeeded")
        for trigger, as_of in zip(
            ["schedule", "manual", "api", "schedule", "schedule"], WEEK, strict=True
        )
    ]
    RunFactory.create(strategy=strategy, trigger="schedule", as_of=WEEK[2], status="running")
    RunFactory.create(
        strategy=strategy,
        trigger="schedule",
        as_of=datetime(2012, 3, 12, 22, tzinfo=UTC),
        status="succeeded",
    )
    return runs


def _week(strategy: Strategy, /, **overrides: Any) -> dict[str, Any]:
    return {"strategy": strategy.slug, "start": "2012-03-05", "end": "2012-03-09", **overrides}


def _post_400(client: APIClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, body, format="json")
    assert response.status_code == 400, response.content
    return response.json()  # type: ignore[no-any-return]


def test_a_backtest_is_replayed_beside_another_endpoint_and_runs(
    api: APIClient,
    strategy: Strategy,
    llm_server: ScriptedLlmServer,
    other_server: ScriptedLlmServer,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # given a backtest of the week, answered HOLD by the default endpoint
    llm_server.answer_with(HOLD)
    source = backtest_run(backtest_create(strategy=strategy, start=WEEK[0], end=WEEK[-1]))
    assert source.status == BacktestStatus.DONE and len(llm_server.requests) == 5
    variant = source.variants.get(reference=False)
    other = LlmEndpointFactory.create(
        name="other", base_url=other_server.base_url, offered_models=["model-b"]
    )
    other_server.answer_with(HOLD)
    body = {
        "source_backtest": source.pk,
        "source_position": variant.position,
        "variants": [{"endpoint": "other", "llm_model": "model-b"}],
        "llm_cache": "off",
    }

    # when the estimate is asked, then the replay created
    estimate = api.post(ESTIMATE, body, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(REPLAYS, body, format="json")

    # then the estimate names its source runs and variants, and the replay was started
    assert estimate.status_code == 200, estimate.content
    assert estimate.json()["sources"] == 5 and estimate.json()["variants"] == 2
    assert estimate.json()["start"] == source.start.isoformat().replace("+00:00", "Z")
    assert created.status_code == 201, created.content
    shown = created.json()
    assert shown["kind"] == "replay" and shown["status"] == "running"
    assert shown["source_backtest"] == source.pk and shown["source_variant"] == variant.pk
    assert shown["created_by"] == "replay-owner"
    assert [v["label"] for v in shown["variants"]] == ["original", "model=model-b,endpoint=other"]
    assert [v["recorded_answers"] for v in shown["variants"]] == [True, False]
    assert [v["slots_total"] for v in shown["variants"]] == [5, 5]
    assert int(runs_queue.llen("runs")) == 2  # one task per variant
    replay = Backtest.objects.get(pk=shown["id"])
    assert replay.variants.get(position=2).clone.llm_endpoint_id == other.pk

    # and, run by a worker, the original asks nobody and the variant asks the other endpoint
    assert backtest_run(replay).status == BacktestStatus.DONE
    assert len(llm_server.requests) == 5
    assert [r["model"] for r in other_server.requests] == ["model-b"] * 5


def test_a_strategys_live_runs_are_replayed_over_a_window(
    api: APIClient,
    strategy: Strategy,
    runs_queue: redis.Redis,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _live_runs(strategy)
    operator = LlmEndpointFactory.create(name="operator-llm")
    own = LlmEndpointFactory.create(name="mine", owner=strategy.owner)
    body = _week(
        strategy,
        variants=[
            {"label": "by id", "endpoint": str(operator.pk)},
            {"endpoint": "mine", "llm_model": "gpt-4o"},
        ],
        llm_cache="use",
    )

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(REPLAYS, body, format="json")

    assert created.status_code == 201, created.content
    shown = created.json()
    assert shown["kind"] == "replay" and shown["source_variant"] is None
    assert shown["llm_cache"] == "use"
    assert shown["start"].startswith("2012-03-05T00:00:00")
    assert shown["end"].startswith("2012-03-09T23:59:59")
    # the 5 finished runs of the week; the running one and the next week's are left out
    assert [v["slots_total"] for v in shown["variants"]] == [5, 5, 5]
    assert [v["label"] for v in shown["variants"]] == [
        "original",
        "by id",
        "model=gpt-4o,endpoint=mine",
    ]
    clones = Backtest.objects.get(pk=shown["id"]).variants.order_by("position")
    assert [v.clone.llm_endpoint_id for v in clones] == [None, operator.pk, own.pk]
    assert int(runs_queue.llen("runs")) == 3


def test_another_users_source_is_refused_and_staff_may_replay_it(
    api: APIClient,
    other_api: APIClient,
    staff_api: APIClient,
    strategy: Strategy,
    runs_queue: redis.Redis,
) -> None:
    _live_runs(strategy)
    source = backtest_create(strategy=strategy, start=WEEK[0], end=WEEK[-1])

    by_backtest = _post_400(other_api, REPLAYS, {"source_backtest": source.pk})
    assert by_backtest == {"source_backtest": ["No such backtest, or not one of yours."]}
    assert _post_400(other_api, ESTIMATE, {"source_backtest": source.pk}) == by_backtest
    by_slug = _post_400(other_api, REPLAYS, _week(strategy))
    assert by_slug == {"strategy": ["No such strategy, or not one of yours."]}
    by_id = _post_400(other_api, REPLAYS, _week(strategy, strategy=str(strategy.pk)))
    assert by_id == by_slug
    assert not Backtest.objects.filter(kind=BacktestKind.REPLAY).exists()
    # nor does another user's replay show to them
    mine = api.post(REPLAYS, _week(strategy), format="json").json()
    assert other_api.get(f"/api/v1/backtests/{mine['id']}/").status_code == 404

    # staff replay anyone's runs, the endpoints being the owner's choice, not staff's
    staff_own = LlmEndpointFactory.create(name="staff-own", owner=User.objects.get(is_staff=True))
    refused = _post_400(staff_api, REPLAYS, _week(strategy, variants=[{"endpoint": "staff-own"}]))
    assert refused["variants"][0]["endpoint"] == [
        "No LLM endpoint 'staff-own' usable by the strategy's owner."
    ]
    assert staff_own.pk  # exists, yet not usable by the strategy's owner
    created = staff_api.post(REPLAYS, _week(strategy), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["created_by"] == "replay-staff"


def test_an_endpoint_the_owner_may_not_use_is_a_400(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis
) -> None:
    _live_runs(strategy)
    foreign = LlmEndpointFactory.create(name="theirs", owner=UserFactory.create())
    offering = LlmEndpointFactory.create(name="offering", offered_models=["model-x"])

    errors = _post_400(
        api,
        REPLAYS,
        _week(
            strategy,
            variants=[
                {"endpoint": "theirs"},
                {"endpoint": str(foreign.pk)},
                {"endpoint": "no-such-endpoint"},
                {"endpoint": "offering", "llm_model": "model-y"},
                {"endpoint": "offering", "llm_model": "model-x"},
            ],
        ),
    )["variants"]

    assert errors[0] == {"endpoint": ["No LLM endpoint 'theirs' usable by the strategy's owner."]}
    assert errors[1] == {
        "endpoint": [f"No LLM endpoint '{foreign.pk}' usable by the strategy's owner."]
    }
    assert "no-such-endpoint" in errors[2]["endpoint"][0]
    # a model is checked against the variant's endpoint, not the strategy's
    assert errors[3] == {
        "llm_model": ["LLM endpoint 'offering' does not offer 'model-y'; it offers: model-x"]
    }
    assert errors[4] == {}
    assert offering.pk and not Backtest.objects.exists()


def test_no_source_run_and_bad_sources_are_clear_400s(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis
) -> None:
    # the strategy has no live run in the week
    errors = _post_400(api, REPLAYS, _week(strategy))
    assert errors["end"] == [
        f"{strategy.slug!r} has no finished live run (schedule, manual or api) with an as-of "
        "in the window: nothing to replay."
    ]
    assert _post_400(api, ESTIMATE, _week(strategy)) == errors
    # a backtest not run yet has no run to replay; nor a variant it lacks
    source = backtest_create(strategy=strategy, start=WEEK[0], end=WEEK[-1])
    empty = _post_400(api, REPLAYS, {"source_backtest": source.pk})
    assert "has no finished run in the window: nothing to replay" in empty["source_backtest"][0]
    missing = _post_400(api, REPLAYS, {"source_backtest": source.pk, "source_position": 9})
    assert missing == {"source_position": [f"Backtest {source.pk} has no variant 9."]}
    assert _post_400(api, REPLAYS, {"source_backtest": 2**62})["source_backtest"]
    # a source is required: a strategy and its window, or a backtest, not both
    required = _post_400(api, REPLAYS, {"strategy": strategy.slug})
    assert set(required) == {"start", "end"}
    assert set(_post_400(api, REPLAYS, {})) == {"strategy", "start", "end"}
    both = _post_400(api, REPLAYS, {"source_backtest": source.pk, "strategy": strategy.slug})
    assert both == {"strategy": ["Give a strategy or a source_backtest, not both."]}
    reversed_ = _post_400(api, REPLAYS, _week(strategy, start="2012-03-09", end="2012-03-05"))
    assert reversed_ == {"end": ["The window ends before it starts."]}
    # recorded answers are the original's alone
    assert "llm_cache" in _post_400(api, REPLAYS, _week(strategy, llm_cache="recorded"))
    unknown = _post_400(api, REPLAYS, _week(strategy, variants=[{"prompt_version": 9}]))
    assert "prompt_version" in unknown["variants"][0]
    assert Backtest.objects.filter(kind=BacktestKind.REPLAY).count() == 0


def test_the_estimate_and_the_max_cost_refusal(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis
) -> None:
    _live_runs(strategy)
    body = _week(strategy, variants=[{"llm_model": "gpt-4o"}, {"analyst": "baseline"}])

    estimate = api.post(ESTIMATE, body, format="json")

    assert estimate.status_code == 200, estimate.content
    figures = estimate.json()
    # the original (recorded answers) and the baseline variant cost nothing
    assert Decimal(figures["estimate_usd"]) > 0
    assert figures["sources"] == 5 and figures["variants"] == 3
    assert not Backtest.objects.filter(kind=BacktestKind.REPLAY).exists()
    original_only = api.post(ESTIMATE, _week(strategy), format="json").json()
    assert original_only["estimate_usd"] == "0.000000" and original_only["variants"] == 1

    refused = api.post(REPLAYS, body | {"max_cost": "0.000001"}, format="json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "BacktestCostAboveLimit"
    assert refused.json()["estimate_usd"] == figures["estimate_usd"]
    assert "confirm=true" in refused.json()["detail"]
    assert not Backtest.objects.filter(kind=BacktestKind.REPLAY).exists()
    confirmed = api.post(REPLAYS, body | {"max_cost": "0.000001", "confirm": True}, format="json")
    assert confirmed.status_code == 201, confirmed.content
    under = api.post(REPLAYS, body | {"max_cost": "1000"}, format="json")
    assert under.status_code == 201, under.content


def test_a_replay_while_the_queue_is_down_is_a_503_and_creates_nothing(
    api: APIClient, strategy: Strategy, tmp_path: Path
) -> None:
    _live_runs(strategy)
    with broker_at(RedisServer(directory=tmp_path).url):  # never started: nothing listens
        answer = api.post(REPLAYS, _week(strategy), format="json")

    assert answer.status_code == 503, answer.content
    assert answer.json()["code"] == "TaskQueueUnavailableError"
    assert not Backtest.objects.exists()


def test_replay_create_itself_refuses_an_endpoint_the_owner_may_not_use(
    strategy: Strategy,
) -> None:
    # the service checks too, whoever calls it (the command, the API)
    _live_runs(strategy)
    foreign = LlmEndpointFactory.create(owner=UserFactory.create())
    spec = ReplaySpec(label="theirs", llm_endpoint_id=foreign.pk)

    with pytest.raises(BacktestError, match=f"no LLM endpoint {foreign.pk} usable"):
        replay_create(strategy=strategy, start=WEEK[0], end=WEEK[-1], variants=[spec])

    assert not Backtest.objects.exists()
    assert not Strategy.objects.filter(backtest_of=strategy).exists()
