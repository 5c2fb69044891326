"""Prompt template services: versions are immutable; saving a changed body adds a version."""

from django.db import transaction

from apps.analysis.models import PromptTemplate
from apps.common.errors import SibylError


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


class PromptTemplateNotFoundError(SibylError):
    """No prompt template has that name, or the name has no such version."""


def prompt_template_resolve(*, reference: str) -> PromptTemplate:
    """The template version ``reference`` names: ``name`` (its latest version) or ``name@N``.

    Raises PromptTemplateNotFoundError for a malformed reference (``name@`` followed by anything
    but digits), an unknown name, or a version the name does not have (the message lists the
    versions that exist).
    """
    name, at, version = reference.partition("@")
    if at and not (version.isascii() and version.isdigit()):
        raise PromptTemplateNotFoundError(
            f"prompt template {reference!r}: expected NAME or NAME@VERSION (a whole number)"
        )
    versions = list(
        PromptTemplate.objects.filter(name=name).values_list("version", flat=True)
    )  # newest first (model ordering)
    if not versions:
        raise PromptTemplateNotFoundError(f"no prompt template named {name!r}")
    wanted = int(version) if at else versions[0]
    template = PromptTemplate.objects.filter(name=name, version=wanted).first()
    if template is None:
        known = ", ".join(str(v) for v in sorted(versions))
        raise PromptTemplateNotFoundError(
            f"prompt template {name!r} has no version {wanted} (versions: {known})"
        )
    return template
