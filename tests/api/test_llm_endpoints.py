"""LLM endpoints API, and strategies choosing an endpoint.

The exploits: a strategy's ``llm_api_key_env`` could name DATABASE_URL / SECRET_KEY /
LLM_API_KEY and its ``llm_base_url`` any URL, so Run now sent the server's secrets to a URL
the user controls; and that URL could be the cloud metadata service or a loopback port.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from apps.analysis.models import LlmEndpoint
from apps.common import outbound
from apps.lineage.models import Run
from apps.pipeline.tasks import execute_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.analysis.helpers import REFUSED_URLS
from tests.api.conftest import results
from tests.api.helpers import payload
from tests.factories import (
    LlmEndpointFactory,
    PromptTemplateFactory,
    StrategyFactory,
    SymbolFactory,
    decision_answer,
)
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db
LIST = "/api/v1/llm-endpoints/"
KEY = "sk-never-shown-4242"


def detail(endpoint: LlmEndpoint) -> str:
    return f"{LIST}{endpoint.pk}/"


@pytest.fixture
def attacker_server(settings: Any) -> Iterator[ScriptedLlmServer]:
    """A loopback server standing for a URL the attacker controls (loopback allowlisted)."""
    server = ScriptedLlmServer()
    server.start()
    server.answer_with(decision_answer())
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]
    yield server
    server.stop()


@pytest.fixture
def user_endpoints(settings: Any) -> None:
    settings.LLM_USER_ENDPOINTS = True
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]


def _body(**overrides: Any) -> dict[str, Any]:
    return {"name": "house", "base_url": "http://127.0.0.1:9/v1", "api_key": KEY, **overrides}


# --- the exploit through the strategies API -----------------------------------------------


def test_a_strategy_can_no_longer_send_server_secrets_to_its_own_url(
    api: APIClient,
    trader: User,
    goog: Symbol,
    llm_server: ScriptedLlmServer,
    attacker_server: ScriptedLlmServer,
    runs_queue: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    strategy = StrategyFactory.create(owner=trader, symbol=goog, analyst="openai")
    llm_server.answer_with(decision_answer())
    for variable in ("DATABASE_URL", "SECRET_KEY", "LLM_API_KEY", ""):
        api.patch(
            f"/api/v1/strategies/{strategy.pk}/",
            {"llm_base_url": attacker_server.base_url, "llm_api_key_env": variable},
            format="json",
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/strategies/{strategy.pk}/run/",
                {"as_of": "2012-06-01T00:00:00Z"},
                format="json",
            )
        execute_run(response.json()["run_id"])
    assert attacker_server.requests == []  # nothing reached the user's URL, no key, no secret
    assert Run.objects.filter(strategy=strategy).count() == 4


def test_the_removed_url_and_key_variable_fields_are_refused_not_ignored(
    api: APIClient, trader: User
) -> None:
    """A client still sending them learns they are gone instead of believing they took."""
    strategy = StrategyFactory.create(owner=trader)
    response = api.patch(
        f"/api/v1/strategies/{strategy.pk}/",
        {"llm_base_url": "http://llm.example.test/v1", "llm_api_key_env": "SECRET_KEY"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"llm_base_url", "llm_api_key_env"}
    assert "llm_endpoint" in body["llm_base_url"][0]


# --- list, visibility, the key ---------------------------------------------------------------


def test_users_see_operator_endpoints_and_their_own_only(
    api: APIClient, trader: User, other_trader: User
) -> None:
    operator = LlmEndpointFactory.create(name="operator")
    own = LlmEndpointFactory.create(name="own", owner=trader)
    theirs = LlmEndpointFactory.create(name="theirs", owner=other_trader)
    names = [row["name"] for row in results(api.get(LIST))]
    assert names == ["operator", "own"]
    assert api.get(detail(own)).json()["owner"] == trader.pk
    assert api.get(detail(operator)).json()["owner"] is None
    for method in ("get", "patch", "put", "delete"):
        response = getattr(api, method)(detail(theirs), {}, format="json")
        assert response.status_code == 404, method
    assert LlmEndpoint.objects.filter(pk=theirs.pk).exists()


@pytest.mark.usefixtures("user_endpoints")
def test_the_key_is_write_only_and_encrypted(staff_api: APIClient, api: APIClient) -> None:
    created = staff_api.post(LIST, _body(), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["has_api_key"] is True and "api_key" not in body and body["owner"] is None
    endpoint = LlmEndpoint.objects.get()
    for client in (staff_api, api):
        for url in (LIST, detail(endpoint)):
            assert KEY not in client.get(url).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM analysis_llmendpoint")
        (stored,) = cursor.fetchone()
    assert KEY not in stored
    # omitted: kept; "": removed
    assert staff_api.patch(detail(endpoint), {"name": "renamed"}, format="json").status_code == 200
    assert LlmEndpoint.objects.get().api_key == KEY
    removed = staff_api.patch(detail(endpoint), {"api_key": ""}, format="json").json()
    assert removed["has_api_key"] is False
    assert LlmEndpoint.objects.get().api_key == ""


def test_errors_never_carry_the_key(staff_api: APIClient) -> None:
    response = staff_api.post(
        LIST, _body(base_url="http://169.254.169.254/latest", api_key=KEY), format="json"
    )
    assert response.status_code == 400
    assert KEY not in response.content.decode()


# --- who may write -------------------------------------------------------------------------


def test_users_cannot_create_endpoints_while_user_endpoints_are_off(
    api: APIClient, settings: Any
) -> None:
    settings.LLM_USER_ENDPOINTS = False
    response = api.post(LIST, _body(), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "UserEndpointsDisabled"
    assert "LLM_USER_ENDPOINTS" in response.json()["detail"]
    assert not LlmEndpoint.objects.exists()


@pytest.mark.usefixtures("user_endpoints")
def test_users_manage_their_own_endpoints_when_allowed(api: APIClient, trader: User) -> None:
    created = api.post(LIST, _body(), format="json")
    assert created.status_code == 201, created.json()
    endpoint = LlmEndpoint.objects.get()
    assert endpoint.owner == trader and endpoint.api_key == KEY
    duplicate = api.post(LIST, _body(), format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    changed = api.patch(detail(endpoint), {"offered_models": ["m1"]}, format="json")
    assert changed.json()["offered_models"] == ["m1"]
    assert api.delete(detail(endpoint)).status_code == 204


@pytest.mark.usefixtures("user_endpoints")
def test_users_cannot_change_operator_endpoints(api: APIClient) -> None:
    operator = LlmEndpointFactory.create(name="operator")
    response = api.patch(detail(operator), {"base_url": "http://127.0.0.1:1/v1"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "OperatorEndpoint"
    assert api.delete(detail(operator)).status_code == 403


def test_an_endpoint_in_use_cannot_be_deleted(staff_api: APIClient) -> None:
    endpoint = LlmEndpointFactory.create()
    StrategyFactory.create(llm_endpoint=endpoint)
    response = staff_api.delete(detail(endpoint))
    assert response.status_code == 409
    assert "used by 1 strategies" in response.json()["detail"]


# --- the outbound URL policy at save time --------------------------------------------------


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_refused_urls_are_400_naming_the_policy(
    staff_api: APIClient, settings: Any, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    settings.LLM_ALLOWED_HOSTS = []
    settings.LLM_BASE_URL = ""
    real = outbound.resolve
    monkeypatch.setattr(
        outbound, "resolve", lambda host, port: real(host, port) if host == "localhost" else []
    )
    response = staff_api.post(LIST, _body(base_url=url), format="json")
    assert response.status_code == 400
    (message,) = response.json()["base_url"]
    assert message.startswith("refused by the outbound URL policy: ") and reason in message
    assert not LlmEndpoint.objects.exists()


def test_refusals_do_not_tell_open_ports_from_closed_ones(
    staff_api: APIClient, settings: Any, attacker_server: ScriptedLlmServer
) -> None:
    settings.LLM_ALLOWED_HOSTS = []
    open_port = attacker_server.base_url.rsplit(":", 1)[1].split("/")[0]
    answers = {
        port: staff_api.post(
            LIST, _body(name=f"p{port}", base_url=f"http://127.0.0.1:{port}/v1"), format="json"
        ).json()
        for port in (open_port, "1")
    }
    assert (
        answers[open_port]
        == answers["1"]
        == {
            "base_url": [
                "refused by the outbound URL policy: 127.0.0.1 is loopback; allow it with "
                "LLM_ALLOWED_HOSTS"
            ]
        }
    )
    assert attacker_server.requests == []


# --- strategies choose an endpoint -----------------------------------------------------------


@pytest.mark.usefixtures("user_endpoints")
def test_a_strategy_cannot_choose_another_users_endpoint(
    api: APIClient, trader: User, other_trader: User
) -> None:
    symbol, template = SymbolFactory.create(), PromptTemplateFactory.create(is_published=True)
    theirs = LlmEndpointFactory.create(owner=other_trader)
    missing = LlmEndpointFactory.create(owner=other_trader)
    missing_pk = missing.pk
    missing.delete()
    answers = [
        api.post("/api/v1/strategies/", payload(symbol, template, llm_endpoint=pk), format="json")
        for pk in (theirs.pk, missing_pk)
    ]
    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].json() == answers[1].json() == {"llm_endpoint": ["unknown LLM endpoint"]}
    # an operator endpoint and the trader's own are fine
    for endpoint in (LlmEndpointFactory.create(), LlmEndpointFactory.create(owner=trader)):
        body = payload(symbol, template, llm_endpoint=endpoint.pk, slug=f"s{endpoint.pk}")
        created = api.post("/api/v1/strategies/", body, format="json")
        assert created.status_code == 201, created.json()
        assert created.json()["llm_endpoint"] == endpoint.pk
        assert created.json()["llm_endpoint_name"] == endpoint.name
    mine = Strategy.objects.filter(owner=trader).first()
    assert mine is not None
    patched = api.patch(
        f"/api/v1/strategies/{mine.pk}/", {"llm_endpoint": theirs.pk}, format="json"
    )
    assert patched.json() == {"llm_endpoint": ["unknown LLM endpoint"]}


def test_a_strategy_model_must_be_offered_by_its_endpoint(api: APIClient) -> None:
    symbol, template = SymbolFactory.create(), PromptTemplateFactory.create(is_published=True)
    endpoint = LlmEndpointFactory.create(name="narrow", offered_models=["small", "tiny"])
    body = payload(symbol, template, llm_endpoint=endpoint.pk, llm_model="gpt-4o")
    response = api.post("/api/v1/strategies/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "llm_model": ["LLM endpoint 'narrow' does not offer 'gpt-4o'; it offers: small, tiny"]
    }
    body = payload(symbol, template, llm_endpoint=endpoint.pk, llm_model="small")
    assert api.post("/api/v1/strategies/", body, format="json").status_code == 201
