"""Prompt template services: versions are immutable; saving a changed body adds a version."""

from django.db import transaction

from apps.analysis.models import PromptTemplate


def prompt_template_save(*, name: str, body: str) -> PromptTemplate:
    """Return the latest version of ``name`` if its body equals ``body``, else save the next.

    Versions start at 1. Row-locks the latest version so two saves cannot take one number.
    """
    with transaction.atomic():
        latest = PromptTemplate.objects.select_for_update().filter(name=name).first()
        if latest is not None and latest.body == body:
            return latest
        template = PromptTemplate(
            name=name, body=body, version=(latest.version + 1) if latest else 1
        )
        template.full_clean()
        template.save()
        return template
