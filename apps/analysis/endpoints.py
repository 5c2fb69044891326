"""LLM endpoint services and selectors: who may use, create and change which endpoint.

Operator endpoints (``owner`` null) are managed by staff and usable by every user; a user's own
endpoints (``LLM_USER_ENDPOINTS`` on) are usable only by that user. Another user's endpoint is
never revealed: it is "unknown", as an endpoint that does not exist.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from apps.analysis.fields import UndecryptableSecret
from apps.analysis.models import LlmEndpoint
from apps.common.errors import FieldProblemsError, SibylError

EDITABLE_FIELDS = (
    "name",
    "base_url",
    "offered_models",
    "text_only_models",
    "prices",
    "timeout_s",
    "knowledge_cutoff",
    "knowledge_cutoffs",
    "is_active",
)


class LlmEndpointInvalidError(FieldProblemsError):
    """An endpoint's settings break a rule; ``problems`` maps field names to messages."""


class LlmEndpointInUseError(SibylError):
    """An endpoint that strategies use cannot be deleted. The API answers 409."""

    http_status = 409


class LlmEndpointUnusableError(SibylError):
    """A run cannot use its strategy's endpoint: inactive, the model not offered, or its key
    cannot be decrypted. The message says what to do; it never carries the key."""


def llm_endpoints_usable(*, user: AbstractBaseUser | AnonymousUser | None) -> QuerySet[Any]:
    """Endpoints ``user`` may choose for their strategies: the operator's and their own.
    ``None`` (a strategy without owner, a file applied without ``--owner``): the operator's."""
    endpoints = LlmEndpoint.objects.all()
    if user is None or not user.is_authenticated:
        return endpoints.filter(owner__isnull=True)
    return endpoints.filter(Q(owner__isnull=True) | Q(owner=user))


def llm_endpoints_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Any]:
    """Endpoints ``user`` sees in the API: every one for staff, else the usable ones."""
    if user.is_authenticated and getattr(user, "is_staff", False):
        return LlmEndpoint.objects.all()
    return llm_endpoints_usable(user=user)


def llm_endpoint_usable_by(*, endpoint: LlmEndpoint, owner_id: int | None) -> bool:
    """Whether a strategy owned by ``owner_id`` (None: no owner) may use ``endpoint``."""
    return endpoint.owner_id is None or endpoint.owner_id == owner_id


def llm_endpoint_model_problems(
    *, endpoint: LlmEndpoint, model: str, fallback_model: str
) -> dict[str, list[str]]:
    """When ``endpoint`` lists the models it offers, ``model`` (``LLM_MODEL`` when blank) and
    ``fallback_model`` must be among them. Output: ``llm_model`` / ``llm_fallback_model`` ->
    messages (empty when fine)."""
    offered = list(endpoint.offered_models or [])
    problems: dict[str, list[str]] = {}
    for field, wanted in (
        ("llm_model", model or settings.LLM_MODEL),
        ("llm_fallback_model", fallback_model),
    ):
        if offered and wanted and wanted not in offered:
            problems[field] = [
                f"LLM endpoint {endpoint.name!r} does not offer {wanted!r}; it offers: "
                + ", ".join(offered)
            ]
    return problems


def user_endpoints_allowed() -> bool:
    """Whether ordinary users may keep their own endpoints (setting ``LLM_USER_ENDPOINTS``)."""
    return bool(settings.LLM_USER_ENDPOINTS)


def _validated_save(endpoint: LlmEndpoint) -> LlmEndpoint:
    try:
        endpoint.full_clean(validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        raise LlmEndpointInvalidError(error.message_dict) from error
    duplicate = LlmEndpoint.objects.filter(owner=endpoint.owner, name=endpoint.name).exclude(
        pk=endpoint.pk
    )
    if duplicate.exists():
        raise LlmEndpointInvalidError({"name": ["you already have an endpoint with this name"]})
    try:
        with transaction.atomic():
            endpoint.save()
    except IntegrityError as error:  # a concurrent save took the name
        raise LlmEndpointInvalidError(
            {"name": ["you already have an endpoint with this name"]}
        ) from error
    return endpoint


def llm_endpoint_create(
    *, owner: User | None, values: dict[str, Any], api_key: str = ""
) -> LlmEndpoint:
    """Create an endpoint owned by ``owner`` (None: the operator's) from ``values`` (fields
    of EDITABLE_FIELDS) with ``api_key`` (stored encrypted; "" for none).

    Raises LlmEndpointInvalidError: a URL refused by the outbound URL policy, a bad model
    list or price table, a name the owner already uses.
    """
    endpoint = LlmEndpoint(owner=owner, api_key=api_key, **_editable(values))
    return _validated_save(endpoint)


def llm_endpoint_update(
    *, endpoint: LlmEndpoint, values: dict[str, Any], api_key: str | None = None
) -> LlmEndpoint:
    """Change ``values`` (fields of EDITABLE_FIELDS) of ``endpoint``; ``api_key`` None keeps
    the stored key, "" removes it, any other text replaces it.

    Raises LlmEndpointInvalidError as ``llm_endpoint_create``; then nothing is saved.
    """
    for field, value in _editable(values).items():
        setattr(endpoint, field, value)
    if api_key is not None:
        endpoint.api_key = api_key
    try:
        return _validated_save(endpoint)
    except LlmEndpointInvalidError:
        endpoint.refresh_from_db()
        raise


def llm_endpoint_delete(*, endpoint: LlmEndpoint) -> None:
    """Delete an endpoint no strategy uses.

    Raises LlmEndpointInUseError when strategies use it (choose another endpoint for them).
    """
    used = endpoint.strategies.count()
    if used:
        raise LlmEndpointInUseError(
            f"LLM endpoint {endpoint.name!r} is used by {used} strategies; choose another "
            "endpoint for them first"
        )
    endpoint.delete()


def llm_endpoint_key(*, endpoint: LlmEndpoint) -> str:
    """The endpoint's key in plain text ("" when none), for its own URL only.

    Raises LlmEndpointUnusableError when the stored key cannot be decrypted (SECRET_KEY or
    LLM_KEY_SALT changed): the ciphertext is never handed out.
    """
    key = endpoint.api_key or ""
    if isinstance(key, UndecryptableSecret):
        raise LlmEndpointUnusableError(
            f"the key of LLM endpoint {endpoint.name!r} cannot be decrypted: SECRET_KEY or "
            "LLM_KEY_SALT (SALT_KEY) changed; enter the key again"
        )
    return key


def _editable(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    return values
