"""Per-user limits through the REST API (issue 12, item 5): one user created 1,000 active
strategies on ``* * * * *`` with an LLM analyst in 28 s. Now an active strategy keeps within
``STRATEGIES_MAX_ACTIVE_PER_USER`` and ``SCHEDULE_MIN_INTERVAL_S`` of its owner, on create,
update, PATCH and activate: 403 ``{"detail", "code": "StrategyLimitError", "setting"}``.
Strategies owned by staff are exempt."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.api.helpers import LIST, detail, payload
from tests.factories import PromptTemplateFactory, StrategyFactory, SymbolFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.STRATEGIES_MAX_ACTIVE_PER_USER = 3
    settings.SCHEDULE_MIN_INTERVAL_S = 300


@pytest.fixture
def symbol() -> Symbol:
    return SymbolFactory.create(symbol="GOOG")


@pytest.fixture
def template() -> PromptTemplate:
    return PromptTemplateFactory.create(is_published=True)  # usable by every trader


def refused(response: Any, setting: str) -> dict[str, Any]:
    """The 403 body of a limit, checked for its shape and the setting it names."""
    assert response.status_code == 403, response.content
    body: dict[str, Any] = response.json()
    assert body["code"] == "StrategyLimitError" and body["setting"] == setting
    assert setting in body["detail"]
    return body


def test_create_stops_at_the_active_strategies_limit(
    api: APIClient, trader: User, symbol: Symbol, template: PromptTemplate
) -> None:
    for n in range(3):
        created = api.post(LIST, payload(symbol, template, slug=f"s{n}"), format="json")
        assert created.status_code == 201, created.content
    # the fourth active strategy is refused, naming the limit and its setting
    response = api.post(LIST, payload(symbol, template, slug="s3"), format="json")
    body = refused(response, "STRATEGIES_MAX_ACTIVE_PER_USER")
    assert "trader already has 3 active strategies" in body["detail"]
    assert not Strategy.objects.filter(slug="s3").exists()
    # an inactive one (a draft) is not counted nor refused
    draft = api.post(LIST, payload(symbol, template, slug="s3", is_active=False), format="json")
    assert draft.status_code == 201
    assert Strategy.objects.filter(owner=trader, is_active=True).count() == 3


def test_a_schedule_firing_more_often_than_allowed_is_refused(
    api: APIClient, symbol: Symbol, template: PromptTemplate
) -> None:
    for cron, shortest in (("* * * * *", 60), ("0,1 9 * * *", 60)):
        response = api.post(LIST, payload(symbol, template, schedule_cron=cron), format="json")
        body = refused(response, "SCHEDULE_MIN_INTERVAL_S")
        assert f"fires every {shortest} s at its shortest" in body["detail"]
    assert not Strategy.objects.exists()
    response = api.post(LIST, payload(symbol, template, schedule_cron="*/5 * * * *"), format="json")
    assert response.status_code == 201


def test_update_patch_and_activate_keep_the_limits(
    api: APIClient, trader: User, symbol: Symbol, template: PromptTemplate
) -> None:
    mine = StrategyFactory.create(owner=trader, slug="mine", schedule_cron="0 22 * * 1-5")
    # PATCH to every minute: refused, and nothing changed
    response = api.patch(detail(mine), {"schedule_cron": "* * * * *"}, format="json")
    refused(response, "SCHEDULE_MIN_INTERVAL_S")
    mine.refresh_from_db()
    assert mine.schedule_cron == "0 22 * * 1-5"
    # PUT is checked the same way
    body = payload(symbol, template, slug="mine", schedule_cron="*/2 * * * *")
    refused(api.put(detail(mine), body, format="json"), "SCHEDULE_MIN_INTERVAL_S")
    # a draft may keep a fast schedule, but cannot be activated with it
    response = api.patch(
        detail(mine), {"schedule_cron": "* * * * *", "is_active": False}, format="json"
    )
    assert response.status_code == 200
    refused(api.post(detail(mine, "activate/")), "SCHEDULE_MIN_INTERVAL_S")
    mine.refresh_from_db()
    assert not mine.is_active and mine.next_run_at is None
    # with three other active strategies, activating (by PATCH or the action) is refused
    api.patch(detail(mine), {"schedule_cron": "0 22 * * 1-5"}, format="json")
    StrategyFactory.create_batch(3, owner=trader)
    refused(
        api.patch(detail(mine), {"is_active": True}, format="json"),
        "STRATEGIES_MAX_ACTIVE_PER_USER",
    )
    refused(api.post(detail(mine, "activate/")), "STRATEGIES_MAX_ACTIVE_PER_USER")
    mine.refresh_from_db()
    assert not mine.is_active
    # an active strategy at the limit may still be edited, and deactivating is always allowed
    other = Strategy.objects.filter(owner=trader, is_active=True).first()
    assert other is not None
    assert api.patch(detail(other), {"name": "renamed"}, format="json").status_code == 200
    assert api.post(detail(other, "deactivate/")).status_code == 200
    assert api.post(detail(mine, "activate/")).status_code == 200


def test_an_active_strategy_saved_before_the_limits_keeps_running_and_may_be_edited(
    api: APIClient, trader: User
) -> None:
    legacy = StrategyFactory.create(owner=trader, schedule_cron="* * * * *")
    response = api.patch(detail(legacy), {"name": "renamed"}, format="json")
    assert response.status_code == 200 and response.json()["is_active"]
    # but its schedule cannot be changed to another one over the limit
    response = api.patch(detail(legacy), {"schedule_cron": "*/2 * * * *"}, format="json")
    refused(response, "SCHEDULE_MIN_INTERVAL_S")


def test_strategies_owned_by_staff_are_exempt(
    staff_api: APIClient, staff: User, symbol: Symbol, template: PromptTemplate
) -> None:
    for n in range(4):
        body = payload(symbol, template, slug=f"ops{n}", schedule_cron="* * * * *")
        assert staff_api.post(LIST, body, format="json").status_code == 201
    assert Strategy.objects.filter(owner=staff, is_active=True).count() == 4


def test_staff_acting_on_a_traders_strategy_meet_the_traders_limits(
    staff_api: APIClient, trader: User
) -> None:
    theirs = StrategyFactory.create(owner=trader, slug="theirs")
    response = staff_api.patch(detail(theirs), {"schedule_cron": "* * * * *"}, format="json")
    refused(response, "SCHEDULE_MIN_INTERVAL_S")
