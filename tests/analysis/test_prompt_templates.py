"""Prompt templates: saved versions are immutable; a changed body becomes the next version."""

import pytest
from django.core.exceptions import ValidationError

from apps.analysis.models import PromptTemplate
from apps.analysis.services import prompt_template_save
from tests.factories import PromptTemplateFactory

pytestmark = pytest.mark.django_db


def test_first_save_is_version_one() -> None:
    template = prompt_template_save(owner=None, name="swing", body="{{ symbol.symbol }}")
    assert (template.name, template.version, template.body) == ("swing", 1, "{{ symbol.symbol }}")
    assert template.pk is not None


def test_unchanged_body_returns_the_same_row() -> None:
    first = prompt_template_save(owner=None, name="swing", body="body")
    again = prompt_template_save(owner=None, name="swing", body="body")
    assert again.pk == first.pk
    assert PromptTemplate.objects.count() == 1


def test_changed_body_adds_the_next_version_and_keeps_the_old() -> None:
    first = prompt_template_save(owner=None, name="swing", body="one")
    second = prompt_template_save(owner=None, name="swing", body="two")
    assert (second.version, second.pk != first.pk) == (2, True)
    assert PromptTemplate.objects.get(pk=first.pk).body == "one"
    latest = PromptTemplate.objects.filter(name="swing").first()
    assert latest is not None and latest.pk == second.pk


def test_reverting_to_an_old_body_is_a_new_version() -> None:
    prompt_template_save(owner=None, name="swing", body="one")
    prompt_template_save(owner=None, name="swing", body="two")
    third = prompt_template_save(owner=None, name="swing", body="one")
    assert third.version == 3


def test_names_are_versioned_independently() -> None:
    prompt_template_save(owner=None, name="a", body="one")
    prompt_template_save(owner=None, name="a", body="two")
    assert prompt_template_save(owner=None, name="b", body="one").version == 1


def test_saving_an_existing_version_raises_and_changes_nothing() -> None:
    template = PromptTemplateFactory.create(name="swing", body="original")
    template.body = "edited"
    with pytest.raises(ValidationError, match="immutable"):
        template.save()
    assert PromptTemplate.objects.get(pk=template.pk).body == "original"


def test_saving_a_version_returned_by_the_service_raises() -> None:
    template = prompt_template_save(owner=None, name="swing", body="original")
    with pytest.raises(ValidationError, match="immutable"):
        template.save()


def test_invalid_name_is_rejected() -> None:
    with pytest.raises(ValidationError):
        prompt_template_save(owner=None, name="not a slug", body="x")
    assert not PromptTemplate.objects.exists()
