"""Template body size limit (issue 12, "Bounds"): a body longer than PROMPT_TEMPLATE_MAX_CHARS
is refused with a field error by the service, the admin and the strategies file."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.analysis.models import PromptTemplate
from apps.analysis.services import prompt_template_save
from apps.strategies.services import StrategiesFileError, strategies_apply

pytestmark = pytest.mark.django_db

LIMIT_TEXT = "PROMPT_TEMPLATE_MAX_CHARS"


def too_long() -> str:
    return "x" * (settings.PROMPT_TEMPLATE_MAX_CHARS + 1)


def test_the_default_limit_is_20000_characters() -> None:
    assert settings.PROMPT_TEMPLATE_MAX_CHARS == 20_000


def test_the_service_refuses_a_body_over_the_limit_as_a_body_error() -> None:
    with pytest.raises(ValidationError) as caught:
        prompt_template_save(owner=None, name="big", body=too_long())
    assert LIMIT_TEXT in caught.value.message_dict["body"][0]
    assert not PromptTemplate.objects.exists()


def test_a_body_at_the_limit_is_saved() -> None:
    body = "x" * settings.PROMPT_TEMPLATE_MAX_CHARS
    assert prompt_template_save(owner=None, name="big", body=body).version == 1


def test_the_admin_refuses_a_body_over_the_limit(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_superuser("admin", "a@example.com", "pw"))
    url = reverse("admin:analysis_prompttemplate_add")
    response = client.post(url, {"name": "big", "version": 1, "body": too_long()})
    assert response.status_code == 200  # the form again, with the error
    assert LIMIT_TEXT in str(response.context["adminform"].form.errors["body"])
    assert not PromptTemplate.objects.exists()


def test_the_strategies_file_refuses_a_body_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "strategies.yaml"
    document = {"prompt_templates": [{"name": "big", "body": too_long()}]}
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=path)
    assert "prompt_templates.0.body" in str(caught.value) and LIMIT_TEXT in str(caught.value)
    assert not PromptTemplate.objects.exists()
