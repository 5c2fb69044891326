"""Strategies API: the position settings (the strategies file's ``positions`` section) are
read, written and validated like the file's."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate
from apps.strategies.models import Strategy
from tests.api.helpers import LIST, detail, payload
from tests.factories import PromptTemplateFactory, SymbolFactory

pytestmark = pytest.mark.django_db
SETTINGS = {
    "opposite_signal": "reverse",
    "close_order_type": "LMT",
    "scale_in": True,
    "max_scale_ins": 2,
    "scale_in_exits": "keep",
    "trail_stop": True,
    "close_before_session_end_min": 15,
}
DEFAULTS = {
    "opposite_signal": "close",
    "close_order_type": "MKT",
    "scale_in": False,
    "max_scale_ins": 1,
    "scale_in_exits": "newest",
    "trail_stop": False,
    "close_before_session_end_min": None,
}


def template() -> PromptTemplate:
    return PromptTemplateFactory.create(owner=User.objects.get(username="trader"))


def test_create_with_every_position_setting_and_read_them_back(api: APIClient) -> None:
    symbol = SymbolFactory.create(trading_calendar="XNYS")
    response = api.post(LIST, payload(symbol, template(), **SETTINGS), format="json")
    assert response.status_code == 201, response.json()
    assert {name: response.json()[name] for name in SETTINGS} == SETTINGS
    strategy = Strategy.objects.get(slug="goog-swing")
    assert {name: getattr(strategy, name) for name in SETTINGS} == SETTINGS
    body = api.get(detail(strategy)).json()
    assert {name: body[name] for name in SETTINGS} == SETTINGS


def test_left_out_they_take_the_defaults_and_null_turns_the_close_off(api: APIClient) -> None:
    symbol = SymbolFactory.create(trading_calendar="XNYS")
    body = api.post(LIST, payload(symbol, template()), format="json").json()
    assert {name: body[name] for name in DEFAULTS} == DEFAULTS
    strategy = Strategy.objects.get(pk=body["id"])
    url = detail(strategy)
    assert api.patch(url, {"close_before_session_end_min": 30}, format="json").status_code == 200
    response = api.patch(url, {"close_before_session_end_min": None}, format="json")
    assert response.status_code == 200 and response.json()["close_before_session_end_min"] is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_scale_ins": 0},
        {"close_before_session_end_min": 0},
        {"close_before_session_end_min": 241},
        {"opposite_signal": "flip"},
        {"close_order_type": "STP"},
        {"scale_in_exits": "move"},
    ],
)
def test_bad_settings_are_field_errors(api: APIClient, overrides: dict[str, Any]) -> None:
    symbol = SymbolFactory.create(trading_calendar="XNYS")
    response = api.post(LIST, payload(symbol, template(), **overrides), format="json")
    assert response.status_code == 400
    assert set(response.json()) == set(overrides), response.json()
    assert not Strategy.objects.exists()


def test_a_session_end_close_needs_a_symbol_with_a_trading_calendar(api: APIClient) -> None:
    forex = SymbolFactory.create(sec_type="CASH", trading_calendar="")
    response = api.post(
        LIST, payload(forex, template(), close_before_session_end_min=15), format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["close_before_session_end_min"]
    assert message.startswith("needs a symbol with a trading_calendar")
