"""LLM endpoints at run time: which key goes to which URL, and the outbound URL policy.

Loopback servers record every request's headers. The exploits: a strategy used to name any
environment variable (DATABASE_URL, SECRET_KEY, LLM_API_KEY …) as its key and any URL as its
endpoint, so the server sent that value to a URL the user controls; and the URL could be
anything the server can reach (cloud metadata, Redis on loopback …).
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.db import connection

from apps.analysis import selection
from apps.analysis.endpoints import llm_endpoint_key
from apps.analysis.fields import UndecryptableSecret
from apps.analysis.models import LlmEndpoint
from apps.common import outbound
from apps.common.outbound import OutboundUrlRefusedError, outbound_url_check, pinned_http_client
from apps.symbols.models import Symbol
from tests.analysis.helpers import REFUSED_URLS
from tests.analysis.runs import llm_step, run_strategy
from tests.factories import LlmEndpointFactory, UserFactory, decision_answer
from tests.llm_server import Reply, ScriptedLlmServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_retries")]
USER_KEY = "sk-user-own-key-777"


@pytest.fixture
def user_server(settings: Any) -> Iterator[ScriptedLlmServer]:
    """A second loopback server, standing for a URL a user controls; loopback is allowlisted
    (LLM_ALLOWED_HOSTS) so that the policy lets the test reach it."""
    server = ScriptedLlmServer()
    server.start()
    server.answer_with(decision_answer())
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    selection._client.cache_clear()
    yield
    selection._client.cache_clear()


def _secrets() -> list[str]:
    """Values that must never reach a user's endpoint."""
    values = [
        django_settings.SECRET_KEY,
        django_settings.LLM_API_KEY,
        os.environ.get("DATABASE_URL", ""),
        *django_settings.SALT_KEY,
    ]
    return [value for value in values if value]


def _authorizations(server: ScriptedLlmServer) -> list[str]:
    """The Authorization header of each request (header names are case-insensitive)."""
    return [
        next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        for headers in server.headers
    ]


def _header_text(server: ScriptedLlmServer) -> str:
    return repr(server.headers) + repr(server.requests)


def test_a_users_endpoint_gets_its_own_key_and_nothing_else(
    goog: Symbol, llm_server: ScriptedLlmServer, user_server: ScriptedLlmServer
) -> None:
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(
        owner=trader, base_url=user_server.base_url, api_key=USER_KEY
    )
    run = run_strategy(goog, owner=trader, llm_endpoint=endpoint)
    assert run.status == "succeeded", run.error_message
    assert _authorizations(user_server) == [f"Bearer {USER_KEY}"]
    for secret in _secrets():
        assert secret not in _header_text(user_server)
    assert llm_server.requests == []  # the operator's endpoint was not asked
    assert USER_KEY not in repr(llm_step(run).output) + repr(llm_step(run).input)


def test_an_endpoint_without_key_never_gets_the_operators_key(
    goog: Symbol, llm_server: ScriptedLlmServer, user_server: ScriptedLlmServer
) -> None:
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(owner=trader, base_url=user_server.base_url)
    run = run_strategy(goog, owner=trader, llm_endpoint=endpoint)
    assert run.status == "succeeded", run.error_message
    assert _authorizations(user_server) == ["Bearer unused"]
    for secret in _secrets():
        assert secret not in _header_text(user_server)


def test_a_strategy_without_endpoint_goes_to_llm_base_url_only(
    goog: Symbol, llm_server: ScriptedLlmServer, user_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(decision_answer())
    run = run_strategy(goog)
    assert run.status == "succeeded", run.error_message
    assert _authorizations(llm_server) == [f"Bearer {django_settings.LLM_API_KEY}"]
    assert user_server.requests == []


def test_a_strategy_cannot_use_another_users_endpoint_at_run_time(
    goog: Symbol, user_server: ScriptedLlmServer
) -> None:
    # saved around the checks (admin by mistake, or an older row): the run still refuses it
    victim = UserFactory.create()
    endpoint = LlmEndpointFactory.create(
        owner=victim, base_url=user_server.base_url, api_key=USER_KEY
    )
    run = run_strategy(goog, owner=UserFactory.create(), llm_endpoint=endpoint)
    assert run.status == "failed"
    assert "belongs to another user" in llm_step(run).error_message
    assert user_server.requests == []


def test_the_key_is_encrypted_in_the_database(user_server: ScriptedLlmServer) -> None:
    endpoint = LlmEndpointFactory.create(base_url=user_server.base_url, api_key=USER_KEY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM analysis_llmendpoint WHERE id = %s", [endpoint.pk])
        (stored,) = cursor.fetchone()
    assert USER_KEY not in stored and stored.startswith("gAAAAA")  # a Fernet token
    assert LlmEndpoint.objects.get(pk=endpoint.pk).api_key == USER_KEY


def test_a_key_that_cannot_be_decrypted_is_never_sent(
    goog: Symbol, user_server: ScriptedLlmServer
) -> None:
    # the key was stored under another SECRET_KEY / salt: the library would return the token
    foreign = Fernet(Fernet.generate_key()).encrypt(USER_KEY.encode()).decode()
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(owner=trader, base_url=user_server.base_url)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE analysis_llmendpoint SET api_key = %s WHERE id = %s", [foreign, endpoint.pk]
        )
    stored = LlmEndpoint.objects.get(pk=endpoint.pk)
    assert isinstance(stored.api_key, UndecryptableSecret)
    run = run_strategy(goog, owner=trader, llm_endpoint=stored)
    assert run.status == "failed"
    message = llm_step(run).error_message
    assert "cannot be decrypted" in message and "enter the key again" in message
    assert foreign not in message
    assert user_server.requests == []
    # saving the endpoint for another reason keeps the stored token as it was
    stored.name = "renamed"
    stored.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM analysis_llmendpoint WHERE id = %s", [endpoint.pk])
        assert cursor.fetchone() == (foreign,)
    with pytest.raises(Exception, match="cannot be decrypted"):
        llm_endpoint_key(endpoint=LlmEndpoint.objects.get(pk=endpoint.pk))


def test_an_inactive_endpoint_or_a_model_it_does_not_offer_fails_the_run(
    goog: Symbol, user_server: ScriptedLlmServer
) -> None:
    trader = UserFactory.create()
    inactive = LlmEndpointFactory.create(
        owner=trader, base_url=user_server.base_url, is_active=False
    )
    run = run_strategy(goog, owner=trader, llm_endpoint=inactive)
    assert "is inactive" in llm_step(run).error_message
    narrow = LlmEndpointFactory.create(
        owner=trader, base_url=user_server.base_url, offered_models=["small-model"]
    )
    run = run_strategy(goog, owner=trader, llm_endpoint=narrow, llm_model="gpt-4o")
    assert "does not offer 'gpt-4o'" in llm_step(run).error_message
    assert user_server.requests == []


def test_endpoint_prices_and_text_only_models_apply(
    goog: Symbol, user_server: ScriptedLlmServer
) -> None:
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(
        owner=trader,
        base_url=user_server.base_url,
        prices={"house-model": {"input": 1.0, "output": 2.0}},
        text_only_models=["house-model"],
    )
    run = run_strategy(goog, owner=trader, llm_endpoint=endpoint, llm_model="house-model")
    assert run.status == "succeeded", run.error_message
    output = llm_step(run).output
    assert output["cost_usd"] == "0.000200"  # 120 × 1.0 + 40 × 2.0 per million tokens
    assert output["accepts_images"] is False


# --- the outbound URL policy at request time ---------------------------------------------


def test_a_loopback_endpoint_is_refused_at_run_time_without_allowlist(
    goog: Symbol, settings: Any, user_server: ScriptedLlmServer
) -> None:
    settings.LLM_ALLOWED_HOSTS = []
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(owner=trader, base_url=user_server.base_url)
    run = run_strategy(goog, owner=trader, llm_endpoint=endpoint)
    assert run.status == "failed"
    message = llm_step(run).error_message
    assert "refused by the outbound URL policy: 127.0.0.1 is loopback" in message
    assert "LLM_ALLOWED_HOSTS" in message
    assert user_server.requests == []


def test_dns_rebinding_is_refused_at_connect_time(
    goog: Symbol, settings: Any, monkeypatch: pytest.MonkeyPatch, user_server: ScriptedLlmServer
) -> None:
    # the name resolves to a public address when checked, then to loopback (rebinding)
    settings.LLM_ALLOWED_HOSTS = []
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(outbound, "resolve", lambda host, port: next(answers))
    port = user_server.base_url.rsplit(":", 1)[1].split("/")[0]
    trader = UserFactory.create()
    endpoint = LlmEndpointFactory.create(
        owner=trader, base_url=f"http://llm.rebind.test:{port}/v1", api_key=USER_KEY
    )
    run = run_strategy(goog, owner=trader, llm_endpoint=endpoint)
    assert run.status == "failed"
    message = llm_step(run).error_message
    assert "refused by the outbound URL policy: llm.rebind.test (127.0.0.1) is loopback" in message
    assert user_server.requests == []


def test_the_transport_connects_to_the_address_it_checked(
    settings: Any, monkeypatch: pytest.MonkeyPatch, user_server: ScriptedLlmServer
) -> None:
    # a name real DNS does not know reaches the server only through the checked address
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.0/8"]
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["127.0.0.1"])
    port = user_server.base_url.rsplit(":", 1)[1].split("/")[0]
    with pinned_http_client(timeout_s=5) as client:
        response = client.post(
            f"http://llm.pinned.test:{port}/v1/chat/completions", json={"model": "m"}
        )
    assert response.status_code == 200
    headers = {name.lower(): value for name, value in user_server.headers[0].items()}
    assert headers["host"] == f"llm.pinned.test:{port}"
    # and with the address refused at connect time, nothing is contacted
    settings.LLM_ALLOWED_HOSTS = []
    with (
        pinned_http_client(timeout_s=5) as client,
        pytest.raises(OutboundUrlRefusedError, match="is loopback"),
    ):
        client.post(f"http://llm.pinned.test:{port}/v1/chat/completions", json={"model": "m"})
    assert len(user_server.requests) == 1


def test_a_redirect_is_not_followed(goog: Symbol, user_server: ScriptedLlmServer) -> None:
    elsewhere = ScriptedLlmServer()
    elsewhere.start()
    try:
        user_server.answer_with(
            Reply(status=307, headers={"Location": f"{elsewhere.base_url}/chat/completions"})
        )
        trader = UserFactory.create()
        endpoint = LlmEndpointFactory.create(
            owner=trader, base_url=user_server.base_url, api_key=USER_KEY
        )
        run = run_strategy(goog, owner=trader, llm_endpoint=endpoint)
    finally:
        elsewhere.stop()
    assert run.status == "failed"
    assert "redirect, which is not followed" in llm_step(run).error_message
    assert len(user_server.requests) == 1  # a redirect is final, not retried
    assert elsewhere.requests == []


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_refused_urls(
    url: str, reason: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LLM_ALLOWED_HOSTS = []
    settings.LLM_BASE_URL = ""
    real = outbound.resolve
    # no real DNS here: localhost resolves through the hosts file, the rest is not asked
    monkeypatch.setattr(
        outbound, "resolve", lambda host, port: real(host, port) if host == "localhost" else []
    )
    with pytest.raises(OutboundUrlRefusedError) as refused:
        outbound_url_check(url)
    assert str(refused.value).startswith("refused by the outbound URL policy: ")
    assert reason in str(refused.value)


def test_allowlist_names_addresses_and_the_operators_endpoint(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["10.1.2.3"])
    settings.LLM_ALLOWED_HOSTS = []
    settings.LLM_BASE_URL = "http://127.0.0.1:8765/v1"
    with pytest.raises(OutboundUrlRefusedError):
        outbound_url_check("http://llm.lan:8000/v1")
    assert outbound_url_check("http://127.0.0.1:8765/v1/").addresses == ("127.0.0.1",)
    with pytest.raises(OutboundUrlRefusedError):  # the operator's host, another port
        outbound_url_check("http://127.0.0.1:6379/")
    settings.LLM_ALLOWED_HOSTS = ["LLM.lan"]
    assert outbound_url_check("http://llm.lan:8000/v1").host == "llm.lan"
    settings.LLM_ALLOWED_HOSTS = ["10.1.0.0/16"]
    assert outbound_url_check("https://gpu.lan/v1").addresses == ("10.1.2.3",)
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["10.1.2.3", "127.0.0.1"])
    with pytest.raises(OutboundUrlRefusedError, match=r"127\.0\.0\.1"):  # ANY address refused
        outbound_url_check("https://gpu.lan/v1")
