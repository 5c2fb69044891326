"""An endpoint's knowledge cutoffs (the leakage guard of backtests) through the API and the
model: a date for its models and dates per model, checked, and which one a model gets."""

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from apps.analysis.models import LlmEndpoint
from tests.factories import LlmEndpointFactory

pytestmark = pytest.mark.django_db
LIST = "/api/v1/llm-endpoints/"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings: Any) -> None:
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]


def _endpoint() -> LlmEndpoint:
    return LlmEndpointFactory.create(base_url="http://127.0.0.1:9/v1")


def test_staff_set_the_cutoffs_and_every_user_reads_them(
    staff_api: APIClient, api: APIClient
) -> None:
    endpoint = _endpoint()
    url = f"{LIST}{endpoint.pk}/"
    answer = staff_api.patch(
        url,
        {"knowledge_cutoff": "2023-10-01", "knowledge_cutoffs": {"m-new": "2024-06-01"}},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    for client in (staff_api, api):
        body = client.get(url).json()
        assert body["knowledge_cutoff"] == "2023-10-01"
        assert body["knowledge_cutoffs"] == {"m-new": "2024-06-01"}
    endpoint.refresh_from_db()
    assert endpoint.knowledge_cutoff_of("m-new") == date(2024, 6, 1)
    assert endpoint.knowledge_cutoff_of("m-other") == date(2023, 10, 1)
    # cleared: unknown again
    assert staff_api.patch(url, {"knowledge_cutoff": None}, format="json").status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.knowledge_cutoff_of("m-other") is None


@pytest.mark.parametrize(
    "body",
    [
        {"knowledge_cutoff": "October 2023"},
        {"knowledge_cutoffs": {"m": "2023-13-01"}},
        {"knowledge_cutoffs": ["m", "2023-10-01"]},
        {"knowledge_cutoffs": {"": "2023-10-01"}},
    ],
)
def test_a_cutoff_that_is_not_a_date_is_refused(staff_api: APIClient, body: dict[str, Any]) -> None:
    endpoint = _endpoint()
    answer = staff_api.patch(f"{LIST}{endpoint.pk}/", body, format="json")
    assert answer.status_code == 400
    assert set(answer.json()) == set(body)
    endpoint.refresh_from_db()
    assert endpoint.knowledge_cutoff is None and endpoint.knowledge_cutoffs == {}


@pytest.mark.parametrize(
    "value", [{"m": "2023-10"}, {"m": 20231001}, {"m": "2023-10-01T00:00"}, ["m"]]
)
def test_the_model_checks_the_per_model_dates(value: object) -> None:
    endpoint = LlmEndpoint(name="e", base_url="https://llm.example.test/v1")
    endpoint.knowledge_cutoffs = value
    with pytest.raises(ValidationError) as raised:
        endpoint.full_clean()
    assert "knowledge_cutoffs" in raised.value.message_dict
