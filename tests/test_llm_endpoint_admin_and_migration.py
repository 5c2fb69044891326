"""The LLM endpoint admin never shows the key and keeps it when left blank; the migration
that replaced a strategy's URL and key variable never copies a variable's value."""

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from apps.analysis.models import LlmEndpoint
from apps.strategies.models import Strategy as Current
from tests.factories import LlmEndpointFactory, UserFactory

KEY = "sk-admin-never-shown-31337"


@pytest.fixture
def staff_client(client: Client, db: None) -> Client:
    client.force_login(UserFactory.create(username="admin", is_staff=True, is_superuser=True))
    return client


def _form_data(endpoint: LlmEndpoint, **changes: Any) -> dict[str, Any]:
    data = {
        "name": endpoint.name,
        "owner": "",
        "base_url": endpoint.base_url,
        "api_key": "",
        "offered_models": "[]",
        "text_only_models": "[]",
        "prices": "{}",
        "timeout_s": "",
        "is_active": "on",
    }
    return {**data, **changes}


def test_the_admin_never_shows_the_key_and_keeps_it_when_blank(
    staff_client: Client, settings: Any
) -> None:
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]
    endpoint = LlmEndpointFactory.create(base_url="http://127.0.0.1:9/v1", api_key=KEY)
    url = reverse("admin:analysis_llmendpoint_change", args=[endpoint.pk])
    assert KEY not in staff_client.get(url).content.decode()
    assert (
        KEY
        not in staff_client.get(reverse("admin:analysis_llmendpoint_changelist")).content.decode()
    )
    page = staff_client.post(url, _form_data(endpoint, name="renamed"))
    assert page.status_code == 302, page.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.api_key) == ("renamed", KEY)
    page = staff_client.post(url, _form_data(endpoint, api_key="sk-new"))
    endpoint.refresh_from_db()
    assert endpoint.api_key == "sk-new"
    page = staff_client.post(url, _form_data(endpoint, remove_api_key="on"))
    endpoint.refresh_from_db()
    assert endpoint.api_key == ""
    refused = staff_client.post(url, _form_data(endpoint, base_url="http://169.254.169.254/"))
    assert refused.status_code == 200
    assert "refused by the outbound URL policy" in str(
        refused.context["adminform"].form.errors["base_url"]
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_keyless_inactive_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIBYL_MIGRATION_SECRET", "value-that-must-not-move")
    before = [
        ("strategies", "0005_strategy_trade_live_permission"),
        ("analysis", "0003_llmcall_attempt_log_finish_reason"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Strategy = old.get_model("strategies", "Strategy")
    owner = old.get_model("auth", "User").objects.create(username="migrated-owner")
    symbol = old.get_model("symbols", "Symbol").objects.create(symbol="MIG", currency="USD")
    template = old.get_model("analysis", "PromptTemplate").objects.create(
        name="t", version=1, body="x"
    )
    common = {"symbol": symbol, "prompt_template": template, "bar_size": "1 day"}
    for slug, url, variable in (
        ("a", "http://llm.example.test/v1", "SIBYL_MIGRATION_SECRET"),
        ("b", "http://llm.example.test/v1", ""),
        ("c", "", "SIBYL_MIGRATION_SECRET"),
    ):
        Strategy.objects.create(
            slug=slug, name=slug, owner=owner, llm_base_url=url, llm_api_key_env=variable, **common
        )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    endpoint = LlmEndpoint.objects.get()
    assert (endpoint.base_url, endpoint.owner_id, endpoint.api_key, endpoint.is_active) == (
        "http://llm.example.test/v1",
        owner.pk,
        "",
        False,
    )
    assert endpoint.name == "migrated-llm.example.test"
    assert dict(Current.objects.values_list("slug", "llm_endpoint")) == {
        "a": endpoint.pk,
        "b": endpoint.pk,
        "c": None,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM analysis_llmendpoint")
        assert "value-that-must-not-move" not in repr(cursor.fetchall())
    # and back: the URL returns to the strategies, no variable name
    executor = MigrationExecutor(connection)
    executor.migrate([("strategies", "0005_strategy_trade_live_permission")])
    back = executor.loader.project_state(
        [("strategies", "0005_strategy_trade_live_permission")]
    ).apps
    rows = back.get_model("strategies", "Strategy").objects.values_list(
        "slug", "llm_base_url", "llm_api_key_env"
    )
    assert sorted(rows) == [
        ("a", "http://llm.example.test/v1", ""),
        ("b", "http://llm.example.test/v1", ""),
        ("c", "", ""),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
