"""The strategies API refuses an indicator parameter outside TA-Lib's range as a field error."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from apps.strategies.models import Strategy
from tests.api.helpers import LIST, payload
from tests.factories import PromptTemplateFactory, SymbolFactory

pytestmark = pytest.mark.django_db


def test_create_refuses_timeperiod_1e308_as_an_indicators_error(
    api: APIClient, trader: User
) -> None:
    symbol, template = SymbolFactory.create(), PromptTemplateFactory.create(owner=trader)
    indicators = [{"name": "RSI", "params": {"timeperiod": 1e308}}]
    response = api.post(LIST, payload(symbol, template, indicators=indicators), format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"indicators"}
    assert (
        "timeperiod=1e+308 is outside the range TA-Lib accepts" in response.json()["indicators"][0]
    )
    assert not Strategy.objects.exists()
