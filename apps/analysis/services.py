"""Prompt template services: versions are immutable; saving a changed body adds a version.

A name belongs to its owner (a user, or None: the operator's); the same name may exist once per
owner. Who may read, use and write a name is decided in ``apps.analysis.selectors``; these
services act on the owner they are given.
"""

from django.contrib.auth.models import User
from django.db import transaction

from apps.analysis.models import PromptTemplate
from apps.common.errors import SibylError


class PromptTemplateNotFoundError(SibylError):
    """No prompt template has that name (for that owner), or the name has no such version."""


class PromptTemplatePublishedNameTakenError(SibylError):
    """Another owner already published a template of that name (published names are unique)."""


def prompt_template_save(
    *, owner: User | None, name: str, body: str, author: User | None = None
) -> PromptTemplate:
    """Return the latest version of ``owner``'s ``name`` if its body equals ``body``, else save
    the next version (1 for a new name) with ``author`` as its author.

    Input: ``owner`` (None: the operator's template), ``author`` (None: a management command).
    The new version inherits the name's ``is_published`` flag. Row-locks the latest version so
    two saves cannot take one number. Raises django's ValidationError for an invalid name or a
    body over PROMPT_TEMPLATE_MAX_CHARS. It never reads or writes another owner's name: callers
    check that the acting user may write ``owner``'s templates (``prompt_template_writable``).
    """
    with transaction.atomic():
        latest = (
            PromptTemplate.objects.select_for_update()
            .filter(owner=owner, name=name)
            .order_by("-version")
            .first()
        )
        if latest is not None and latest.body == body:
            return latest
        template = PromptTemplate(
            owner=owner,
            author=author,
            name=name,
            body=body,
            version=(latest.version + 1) if latest else 1,
            is_published=latest.is_published if latest else False,
        )
        template.full_clean()
        template.save()
        return template


def prompt_template_publish(*, template: PromptTemplate, published: bool) -> int:
    """Publish (or withdraw) the name of ``template``: every version of its owner's name gets
    ``is_published = published``. Staff only: callers check the actor.

    Output: the number of versions changed. Raises PromptTemplatePublishedNameTakenError when
    publishing a name another owner has already published (``name`` in a strategies file
    resolves to at most one published template). Withdrawing keeps strategies that use a
    version running: they keep their pinned version until the strategy's template or owner
    changes.
    """
    with transaction.atomic():
        versions = PromptTemplate.objects.select_for_update().filter(
            owner=template.owner_id, name=template.name
        )
        if published:
            taken = (
                PromptTemplate.objects.filter(name=template.name, is_published=True)
                .exclude(owner=template.owner_id)
                .exists()
            )
            if taken:
                raise PromptTemplatePublishedNameTakenError(
                    f"another owner already published a prompt template named {template.name!r}"
                )
        # A queryset update: the flag is the one column of a saved version that may change.
        return versions.exclude(is_published=published).update(is_published=published)


def _reference_parts(reference: str) -> tuple[str, int | None]:
    name, at, version = reference.partition("@")
    if at and not (version.isascii() and version.isdigit()):
        raise PromptTemplateNotFoundError(
            f"prompt template {reference!r}: expected NAME or NAME@VERSION (a whole number)"
        )
    return name, int(version) if at else None


def prompt_template_resolve(*, reference: str, owner: User | None) -> PromptTemplate:
    """The template version ``reference`` names for ``owner``: ``name`` (its latest version) or
    ``name@N``, looked up in ``owner``'s own templates (None: the operator's) and, when the
    owner has no template of that name, among the published ones.

    So "latest" never follows a version saved by someone else: another owner's unpublished
    template is never found, and a published one is only the owner's choice when the owner has
    no name of their own. Raises PromptTemplateNotFoundError for a malformed reference (``name@``
    followed by anything but digits), a name neither owned nor published, or a version the name
    does not have (the message lists the versions that exist).
    """
    name, wanted = _reference_parts(reference)
    scope = PromptTemplate.objects.filter(owner=owner, name=name)
    if not scope.exists():
        scope = PromptTemplate.objects.filter(name=name, is_published=True)
    versions = list(scope.order_by("-version").values_list("version", flat=True))
    if not versions:
        raise PromptTemplateNotFoundError(f"no prompt template named {name!r}")
    template = scope.filter(version=versions[0] if wanted is None else wanted).first()
    if template is None:
        known = ", ".join(str(v) for v in sorted(versions))
        raise PromptTemplateNotFoundError(
            f"prompt template {name!r} has no version {wanted} (versions: {known})"
        )
    return template
