"""Prompt-templates API: immutable versions of the user's own templates; preview against a run;
latest scores. Ownership and publication: tests/api/test_prompt_template_owners.py."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.lineage.services import run_create
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.api.conftest import results
from tests.factories import PromptScoreFactory, PromptTemplateFactory, StrategyFactory

pytestmark = pytest.mark.django_db
LIST = "/api/v1/prompt-templates/"
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # last closed GOOG bar: 2012-05-31, close 580.86


def detail(template: PromptTemplate, suffix: str = "") -> str:
    return f"{LIST}{template.pk}/{suffix}"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST),
        ("post", LIST),
        ("get", LIST + "{id}/"),
        ("post", LIST + "{id}/preview/"),
        ("get", LIST + "scores/"),
    ],
)
def test_anonymous_gets_401(anonymous: APIClient, method: str, url: str) -> None:
    template = PromptTemplateFactory.create()
    response = getattr(anonymous, method)(url.format(id=template.pk), {}, format="json")
    assert response.status_code == 401


def test_a_user_lists_every_version_of_their_templates_by_name(
    api: APIClient, trader: User
) -> None:
    for version in (1, 2, 3):
        PromptTemplateFactory.create(
            owner=trader, name="swing", version=version, body=f"v{version}"
        )
    PromptTemplateFactory.create(owner=trader, name="alpha", version=1)
    rows = results(api.get(LIST))
    assert [(r["name"], r["version"]) for r in rows] == [
        ("alpha", 1),
        ("swing", 3),
        ("swing", 2),
        ("swing", 1),
    ]
    assert [r["body"] for r in results(api.get(f"{LIST}?name=swing"))] == ["v3", "v2", "v1"]
    page = api.get(f"{LIST}?page_size=2&page=2").json()
    assert page["count"] == 4 and [r["version"] for r in page["results"]] == [2, 1]


def test_retrieve_one_version(api: APIClient, trader: User) -> None:
    template = PromptTemplateFactory.create(owner=trader, name="swing", body="{{ symbol.symbol }}")
    body = api.get(detail(template)).json()
    assert body == {
        "id": template.pk,
        "name": "swing",
        "version": 1,
        "body": "{{ symbol.symbol }}",
        "created_at": body["created_at"],
        "owner": trader.pk,
        "owner_username": "trader",
        "author": trader.pk,
        "author_username": "trader",
        "is_published": False,
        "can_write": True,
    }
    assert api.get(f"{LIST}999999/").status_code == 404


def test_create_saves_the_next_version_and_reuses_an_equal_body(api: APIClient) -> None:
    first = api.post(LIST, {"name": "swing", "body": "A {{ bar_size }}"}, format="json")
    assert first.status_code == 201 and first.json()["version"] == 1
    second = api.post(LIST, {"name": "swing", "body": "B {{ bar_size }}"}, format="json")
    assert second.status_code == 201 and second.json()["version"] == 2
    same = api.post(LIST, {"name": "swing", "body": "B {{ bar_size }}"}, format="json")
    assert same.status_code == 200 and same.json()["id"] == second.json()["id"]
    assert list(PromptTemplate.objects.values_list("version", flat=True)) == [2, 1]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "has spaces", "body": "x"}, {"name"}),
        ({"name": "a" * 65, "body": "x"}, {"name"}),
        ({"name": "ok", "body": ""}, {"body"}),
        ({"body": "x"}, {"name"}),
    ],
)
def test_create_rejects_bad_input(api: APIClient, body: dict[str, Any], fields: set[str]) -> None:
    response = api.post(LIST, body, format="json")
    assert response.status_code == 400 and set(response.json()) == fields
    assert not PromptTemplate.objects.exists()


def test_create_rejects_malformed_json(api: APIClient) -> None:
    response = api.post(LIST, data="{name:", content_type="application/json")
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]


def test_versions_are_immutable(api: APIClient, staff_api: APIClient) -> None:
    template = PromptTemplateFactory.create(body="original")
    for client in (api, staff_api):
        assert client.put(detail(template), {"body": "x"}, format="json").status_code == 405
        assert client.patch(detail(template), {"body": "x"}, format="json").status_code == 405
        assert client.delete(detail(template)).status_code == 405
    template.refresh_from_db()
    assert template.body == "original"


def test_preview_renders_a_real_runs_prompt(api: APIClient, goog: Symbol, trader: User) -> None:
    # given a run of the trader's strategy through the six steps
    template = PromptTemplateFactory.create(owner=trader, name="swing")
    strategy = StrategyFactory.create(owner=trader, symbol=goog, prompt_template=template)
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    assert run.status == "succeeded", run.error_message
    # when the template is previewed against it
    response = api.post(detail(template, "preview/"), {"run_id": run.pk}, format="json")
    # then the text is the prompt the run's llm step sent
    assert response.status_code == 200
    sent = run.steps.get(name="llm").artifacts.get(kind="prompt").file.read().decode()
    assert response.json() == {"prompt": sent}
    assert response.json()["prompt"].startswith("GOOG 1 day as of 2012-06-01")
    assert "last close 580.86" in response.json()["prompt"]


def test_preview_of_another_version_uses_its_body(
    api: APIClient, goog: Symbol, trader: User
) -> None:
    strategy = StrategyFactory.create(owner=trader, symbol=goog)
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    other = PromptTemplateFactory.create(
        owner=trader, name="terse", body="{{ symbol.symbol }}: {{ bars.count }}"
    )
    response = api.post(detail(other, "preview/"), {"run_id": run.pk}, format="json")
    assert response.json() == {"prompt": "GOOG: 200"}


def test_preview_needs_a_run_the_user_may_see(
    api: APIClient, staff_api: APIClient, goog: Symbol, trader: User, other_trader: User
) -> None:
    template = PromptTemplateFactory.create(owner=trader, body="{{ symbol.symbol }}")
    theirs = StrategyFactory.create(owner=other_trader, symbol=goog)
    run = run_create(strategy_id=theirs.pk, as_of=AS_OF)
    url = detail(template, "preview/")
    assert api.post(url, {"run_id": run.pk}, format="json").status_code == 404
    assert api.post(url, {"run_id": 999999}, format="json").status_code == 404
    assert staff_api.post(url, {"run_id": run.pk}, format="json").json() == {"prompt": "GOOG"}
    assert api.post(f"{LIST}999999/preview/", {"run_id": run.pk}).status_code == 404
    response = api.post(url, {}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"run_id"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{{ nothing_here }}", "UndefinedError: 'nothing_here' is undefined"),
        ("{% if %}", "TemplateSyntaxError"),
        ("{{ symbol.__class__ }}", "SecurityError"),
    ],
)
def test_preview_reports_a_template_error_as_400(
    api: APIClient, goog: Symbol, trader: User, body: str, message: str
) -> None:
    run = run_create(strategy_id=StrategyFactory.create(owner=trader, symbol=goog).pk, as_of=AS_OF)
    template = PromptTemplateFactory.create(owner=trader, body=body)
    response = api.post(detail(template, "preview/"), {"run_id": run.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "PromptRenderError"
    assert message in response.json()["detail"]


def test_preview_without_bars_is_a_400(api: APIClient, trader: User) -> None:
    strategy = StrategyFactory.create(owner=trader)  # a symbol with no stored bars
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    response = api.post(
        detail(strategy.prompt_template, "preview/"), {"run_id": run.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "NotEnoughBarsError"


def test_scores_are_the_latest_per_version(api: APIClient, trader: User) -> None:
    old = PromptTemplateFactory.create(owner=trader, name="swing", version=1)
    new = PromptTemplateFactory.create(owner=trader, name="swing", version=2)
    day = datetime(2024, 3, 1, tzinfo=UTC)
    scores = {"signals": 4, "closed_trades": 2, "accepted_share": 0.5, "filled_share": 0.25}
    mine = {"template": old, "owner": trader}
    PromptScoreFactory.create(**mine, computed_at=day, **scores, win_rate=0.0)
    PromptScoreFactory.create(
        **mine, computed_at=day.replace(day=2), **scores, win_rate=0.5, avg_r_multiple=1.2
    )
    PromptScoreFactory.create(
        template=new, owner=trader, computed_at=timezone.now(), signals=0, closed_trades=0
    )
    rows = api.get(f"{LIST}scores/").json()
    assert [(r["template_name"], r["template_version"]) for r in rows] == [
        ("swing", 2),
        ("swing", 1),
    ]
    assert rows[1]["template_id"] == old.pk
    assert (rows[1]["win_rate"], rows[1]["avg_r_multiple"]) == (0.5, 1.2)
    assert rows[0]["accepted_share"] is None and rows[0]["signals"] == 0
