"""The prompt-templates API refuses a body over PROMPT_TEMPLATE_MAX_CHARS with a field error."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from apps.analysis.models import PromptTemplate

pytestmark = pytest.mark.django_db


def test_create_refuses_a_body_over_the_limit(api: APIClient) -> None:
    body = "x" * (settings.PROMPT_TEMPLATE_MAX_CHARS + 1)
    response = api.post("/api/v1/prompt-templates/", {"name": "big", "body": body}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"body"}
    assert "PROMPT_TEMPLATE_MAX_CHARS" in response.json()["body"][0]
    assert not PromptTemplate.objects.exists()
