"""Analysis services: prompt templates, and the record of language-model calls.

Prompt template versions are immutable; saving a changed body adds a version. A name belongs to
its owner (a user, or None: the operator's); the same name may exist once per owner. Who may
read, use and write a name is decided in ``apps.analysis.selectors``; these services act on the
owner they are given.

Every language-model call of a run, failed or not, is kept as an ``LlmCall`` row
(``llm_call_record``): a call is made and paid for whatever became of its answer.
"""

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Model

from apps.analysis.models import LlmCall, PromptTemplate
from apps.common.errors import SibylError
from apps.lineage.models import Run
from apps.strategies.models import Strategy


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


def llm_call_record(
    *,
    run: Run,
    strategy: Strategy,
    model: str,
    mode: str,
    attempts: int,
    latency_ms: float,
    attempt_log: list[dict[str, Any]],
    unrecorded: list[Model],
    finish_reason: str = "",
    error: str = "",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost_usd: Decimal = Decimal(0),
    cache: str = "",
) -> LlmCall:
    """Save one ``LlmCall`` row of ``run``: the model and response format (``mode``) used,
    attempts with their log, the whole call's latency (ms), tokens as the endpoint reported
    them, its finish reason, estimated cost (USD), and ``error`` (the provider's or the parse
    error's text; empty when it succeeded). A call that failed outright has no tokens or cost.
    ``cache``: ``hit`` (answered from the LLM answer cache: pass the original call's tokens and
    cost, latency 0), ``miss`` (called with a cache, and stored) or empty (no cache).

    Output: the saved row. Raises the database's OperationalError/InterfaceError when the row
    cannot be saved because the connection went away; the built row is then appended to
    ``unrecorded`` first, for the caller to save once the database is back.
    """
    call = LlmCall(
        run=run,
        strategy=strategy,
        model=model,
        response_format=mode,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=latency_ms,
        attempts=attempts,
        attempt_log=attempt_log,
        finish_reason=finish_reason,
        cost_usd=cost_usd,
        succeeded=not error,
        error=error,
        cache=cache,
    )
    try:
        call.save()
    except (OperationalError, InterfaceError):
        unrecorded.append(call)  # made and paid for: recorded once the database is back
        raise
    return call
