"""The backtests API's leakage-guard and replay fields: ``anonymise`` on create (stored and
shown), ``kind``/``source_variant`` read-only on a backtest, the report's per-variant
``knowledge_cutoff``/``leakage_warning``/``leakage_span`` and buy-and-hold ``capital``, each
declared in the OpenAPI schema the browser app is typed from."""

from decimal import Decimal
from typing import Any

import jsonschema
import pytest
import redis
from django.contrib.auth.models import User
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.evaluation.models import Backtest
from apps.evaluation.replay import replay_create
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.conftest import results, token_client
from tests.factories import StrategyFactory, UserFactory

pytestmark = pytest.mark.django_db

BACKTESTS = "/api/v1/backtests/"


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory.create(username="bt-leak-owner")


@pytest.fixture
def api(owner: User) -> APIClient:
    return token_client(owner)


@pytest.fixture
def strategy(goog: Symbol, owner: User) -> Strategy:
    """An LLM strategy of ``owner`` on GOOG (the default endpoint), weekdays at 22:00 UTC,
    sizing against 10,000."""
    return StrategyFactory.create(
        symbol=goog,
        owner=owner,
        analyst="openai",
        llm_model="gpt-4o-mini",
        capital=Decimal("10000"),
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )


def _body(strategy: Strategy, /, **overrides: Any) -> dict[str, Any]:
    return {"strategy": strategy.slug, "start": "2012-03-05", "end": "2012-03-09", **overrides}


def _component(name: str) -> dict[str, Any]:
    """The OpenAPI component ``name`` with every ``$ref`` resolvable (for jsonschema)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    return {**components[name], "components": {"schemas": components}}


def _json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes "or null"."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _validate(body: dict[str, Any], name: str) -> None:
    """``body`` conforms to the schema's component ``name`` (OpenAPI 3.0 refs)."""
    component = _json_schema(_component(name))
    validator = jsonschema.Draft7Validator(component)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == []


def test_anonymise_is_stored_shown_and_reported(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis, settings: Any
) -> None:
    settings.LLM_KNOWLEDGE_CUTOFFS = {"gpt-4o-mini": "2012-03-06"}
    created = api.post(BACKTESTS, _body(strategy, anonymise=True), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["anonymise"] is True
    assert body["kind"] == "backtest"
    assert body["source_variant"] is None and body["source_backtest"] is None
    assert Backtest.objects.get(pk=body["id"]).anonymise is True
    _validate(body, "BacktestOutput")

    # the default is off
    plain = api.post(BACKTESTS, _body(strategy), format="json").json()
    assert plain["anonymise"] is False
    assert Backtest.objects.get(pk=plain["id"]).anonymise is False

    # the report: anonymise, the variant's cutoff and leakage, buy-and-hold's capital
    report = api.get(f"{BACKTESTS}{body['id']}/report/").json()
    assert report["anonymise"] is True
    row = report["variants"][0]
    assert row["knowledge_cutoff"] == "2012-03-06"
    assert row["leakage_warning"] == (
        "the model may have seen this period (knowledge cutoff 2012-03-06)"
    )
    assert row["leakage_span"] == {"start": "2012-03-05", "end": "2012-03-06"}
    assert report["buy_and_hold"]["capital"] == "10000.00"
    _validate(report, "ReportOutput")


def test_the_schema_declares_the_new_fields() -> None:
    row = _component("ReportRow")["properties"]
    for field in ("capital", "knowledge_cutoff", "leakage_warning", "unrealized_pnl"):
        assert field in row, field
    assert row["knowledge_cutoff"]["nullable"] is True
    assert row["leakage_warning"]["nullable"] is True
    assert "leakage_span" in row
    assert "anonymise" in _component("ReportOutput")["properties"]
    output = _component("BacktestOutput")
    for field in ("kind", "anonymise", "source_variant", "source_backtest"):
        assert field in output["properties"], field
        assert field in output["required"], field
    assert "anonymise" in _component("BacktestInputRequest")["properties"]


def test_a_replay_shows_its_kind_and_source(
    api: APIClient, strategy: Strategy, runs_queue: redis.Redis
) -> None:
    source = api.post(BACKTESTS, _body(strategy), format="json").json()
    variant = Backtest.objects.get(pk=source["id"]).variants.get(reference=False)
    replay = replay_create(source_variant=variant)
    live = replay_create(strategy=strategy, start=replay.start, end=replay.end)

    shown = api.get(f"{BACKTESTS}{replay.pk}/").json()
    assert shown["kind"] == "replay"
    assert shown["source_variant"] == variant.pk
    assert shown["source_backtest"] == source["id"]
    assert shown["source_variant_label"] == variant.label
    assert shown["variants"][0]["label"] == "original"
    assert shown["variants"][0]["recorded_answers"] is True
    _validate(shown, "BacktestOutput")
    of_live = api.get(f"{BACKTESTS}{live.pk}/").json()
    assert of_live["kind"] == "replay"
    assert of_live["source_variant"] is None and of_live["source_backtest"] is None

    # read-only: a create ignores them
    created = api.post(
        BACKTESTS, _body(strategy, kind="replay", source_variant=variant.pk), format="json"
    ).json()
    assert created["kind"] == "backtest" and created["source_variant"] is None

    # the list filters by kind
    replays = [row["id"] for row in results(api.get(BACKTESTS, {"kind": "replay"}))]
    assert sorted(replays) == sorted([replay.pk, live.pk])
    assert api.get(BACKTESTS, {"kind": "nonsense"}).status_code == 400
