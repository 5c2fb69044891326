"""The OpenAPI schema's error responses: every operation documents the errors it can answer, in
the API's one error shape (``apps.common.api``), so a client — or a schema conformance check —
finds every status it may receive in the schema.

drf-spectacular documents only the success response of an operation by default
(https://drf-spectacular.readthedocs.io/en/latest/faq.html, "How to add error responses");
``ErrorDocumentingAutoSchema`` adds the standard ones where they apply.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class ErrorDetailSerializer(serializers.Serializer):
    """A request that failed as a whole: ``{"detail": "<message>"}``, with ``code`` (the domain
    error's class name) when a service refused it."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input: ``{"<field>": ["<message>", …]}`` per field (``non_field_errors`` for the
    whole object; nested objects and lists nest the same way), or a refused request in the
    ``{"detail", "code"}`` shape."""

    detail = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    # Field names are the input's own, so any other key may appear (the schema's objects
    # allow additional properties).
    non_field_errors = serializers.ListField(child=serializers.CharField(), required=False)


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's ``AutoSchema`` plus error responses, added only where none is declared:

    - 400 (``ValidationError``) when the operation takes input: a body or query parameters;
    - 401 unless the view allows anonymous requests; 403 always (no permission, or a missing
      CSRF token on a session write);
    - 404 for paths with an id and for paged lists (a page past the end);
    - 413 for operations with a body (``DATA_UPLOAD_MAX_MEMORY_SIZE``);
    - 429 for throttled views (sign-in).
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status_code, description, serializer in self._error_responses():
            if status_code not in responses:
                responses[status_code] = self._get_response_for_code(
                    OpenApiResponse(response=serializer, description=description),
                    status_code,
                    direction=direction,
                )
        return responses

    def _error_responses(self) -> list[tuple[str, str, type[serializers.Serializer]]]:
        """``(status code, description, body serializer)`` for this operation's errors."""
        has_body = self.method in ("POST", "PUT", "PATCH")
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        allows_anonymous = any(
            isinstance(permission, AllowAny) for permission in self.view.get_permissions()
        )
        errors: list[tuple[str, str, type[serializers.Serializer]]] = []
        if has_body or has_query:
            errors.append(("400", "Invalid input.", ValidationErrorSerializer))
        if not allows_anonymous:
            errors.append(("401", "Not signed in.", ErrorDetailSerializer))
        errors.append(("403", "Not allowed.", ErrorDetailSerializer))
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            errors.append(
                ("404", "Not found (or not yours), or a page past the end.", ErrorDetailSerializer)
            )
        if has_body:
            errors.append(("413", "Request body too large.", ErrorDetailSerializer))
        if self.view.get_throttles():
            errors.append(("429", "Too many requests.", ErrorDetailSerializer))
        return errors
