"""LLM endpoints API (``/api/v1/llm-endpoints/``): the operator's endpoints and your own.

A user sees the operator's endpoints (``owner`` null) and their own; another user's endpoint is
a 404. Staff create and change operator endpoints; a user creates, changes and deletes their
own only while the setting ``LLM_USER_ENDPOINTS`` is on (else 403). The key is write-only:
answers carry ``has_api_key`` only, and no error message ever contains it.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analysis.endpoint_rules import MODEL_ID_MAX_CHARS
from apps.analysis.endpoints import (
    llm_endpoint_create,
    llm_endpoint_delete,
    llm_endpoint_update,
    llm_endpoints_visible,
    user_endpoints_allowed,
)
from apps.analysis.models import LlmEndpoint
from apps.common.api import is_staff

NOT_FOUND = OpenApiResponse(description="No such endpoint, or another user's.")
INVALID = OpenApiResponse(
    description='Invalid input: {"<field>": ["<message>"]}; a refused URL names the outbound '
    "URL policy."
)
FORBIDDEN = OpenApiResponse(
    description='Not allowed: {"detail": "<why>", "code": "UserEndpointsDisabled" | '
    '"OperatorEndpoint"}.'
)
USER_ENDPOINTS_OFF = (
    "your own LLM endpoints are disabled on this server (setting LLM_USER_ENDPOINTS); use the "
    "operator's endpoints or ask the operator"
)


class LlmEndpointOutputSerializer(serializers.ModelSerializer[LlmEndpoint]):
    """An endpoint: ``owner`` null for the operator's (usable by everyone), else the user id;
    ``has_api_key`` whether a key is stored (the key itself is never returned);
    ``knowledge_cutoff`` / ``knowledge_cutoffs`` its models' training-data cutoffs."""

    has_api_key = serializers.BooleanField(read_only=True)
    knowledge_cutoffs = serializers.DictField(
        child=serializers.DateField(),
        read_only=True,
        help_text="Training-data cutoff (YYYY-MM-DD) per model id; overrides knowledge_cutoff.",
    )

    class Meta:
        model = LlmEndpoint
        fields = (
            "id",
            "name",
            "owner",
            "base_url",
            "has_api_key",
            "offered_models",
            "text_only_models",
            "prices",
            "timeout_s",
            "knowledge_cutoff",
            "knowledge_cutoffs",
            "is_active",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class _PriceSerializer(serializers.Serializer[Any]):
    input = serializers.FloatField(min_value=0, required=False)
    output = serializers.FloatField(min_value=0, required=False)


class LlmEndpointInputSerializer(serializers.Serializer[Any]):
    """An endpoint's settings (POST, PUT, PATCH). ``base_url`` must pass the outbound URL
    policy (http/https; a host whose addresses are global, or allowlisted in
    LLM_ALLOWED_HOSTS). ``api_key`` is write-only: omitted keeps the stored key, "" removes
    it. ``offered_models`` empty: any model; ``prices`` USD per million tokens by model;
    ``knowledge_cutoff`` the models' training-data cutoff (YYYY-MM-DD, null: unknown) and
    ``knowledge_cutoffs`` the cutoff per model id, which overrides it."""

    name = serializers.RegexField(r"^[-a-zA-Z0-9_. ]+$", max_length=64)
    base_url = serializers.CharField(max_length=255)
    api_key = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=512,
        style={"input_type": "password"},
    )
    offered_models = serializers.ListField(
        child=serializers.CharField(max_length=MODEL_ID_MAX_CHARS), required=False
    )
    text_only_models = serializers.ListField(
        child=serializers.CharField(max_length=MODEL_ID_MAX_CHARS), required=False
    )
    prices = serializers.DictField(child=_PriceSerializer(), required=False)
    timeout_s = serializers.FloatField(
        min_value=0.1, max_value=600, required=False, allow_null=True
    )
    knowledge_cutoff = serializers.DateField(required=False, allow_null=True)
    knowledge_cutoffs = serializers.DictField(child=serializers.DateField(), required=False)
    is_active = serializers.BooleanField(required=False)

    def validate_knowledge_cutoffs(self, value: dict[str, Any]) -> dict[str, str]:
        """Model ids (at most MODEL_ID_MAX_CHARS characters) to ISO dates, stored as text."""
        for model in value:
            if not model or len(model) > MODEL_ID_MAX_CHARS:
                raise serializers.ValidationError(
                    f"model ids are non-empty text of at most {MODEL_ID_MAX_CHARS} characters"
                )
        return {model: cutoff.isoformat() for model, cutoff in value.items()}


def _forbidden(message: str, code: str) -> PermissionDenied:
    return PermissionDenied({"detail": message, "code": code})


@extend_schema(tags=["llm-endpoints"])
class LlmEndpointViewSet(viewsets.GenericViewSet[LlmEndpoint]):
    """The operator's endpoints and your own (staff: every endpoint), by name."""

    serializer_class = LlmEndpointOutputSerializer

    def get_queryset(self) -> Any:
        """Endpoints the requesting user may see; any other is a 404."""
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return LlmEndpoint.objects.none()
        return llm_endpoints_visible(user=self.request.user)

    def _may_write(self, request: Request, endpoint: LlmEndpoint | None) -> None:
        """Staff write any endpoint; a user writes their own while LLM_USER_ENDPOINTS is on.

        Raises PermissionDenied (403) with the reason.
        """
        if is_staff(request):
            return
        if endpoint is not None and endpoint.owner_id is None:
            raise _forbidden("the operator's endpoints are managed by staff", "OperatorEndpoint")
        if not user_endpoints_allowed():
            raise _forbidden(USER_ENDPOINTS_OFF, "UserEndpointsDisabled")

    @extend_schema(responses={200: LlmEndpointOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of endpoints, by name; ``page`` and ``page_size``."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(LlmEndpointOutputSerializer(page, many=True).data)

    @extend_schema(responses={200: LlmEndpointOutputSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One endpoint."""
        return Response(LlmEndpointOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=LlmEndpointInputSerializer,
        responses={201: LlmEndpointOutputSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        """Create an endpoint: staff create the operator's (``owner`` null), a user their own
        (403 while LLM_USER_ENDPOINTS is off). 201 with it; 400 with field errors."""
        self._may_write(request, None)
        serializer = LlmEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        api_key = values.pop("api_key", "")
        owner = None if is_staff(request) else cast(User, request.user)
        endpoint = llm_endpoint_create(owner=owner, values=values, api_key=api_key)
        return Response(LlmEndpointOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        endpoint = self.get_object()
        self._may_write(request, endpoint)
        serializer = LlmEndpointInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        api_key = values.pop("api_key", None)
        endpoint = llm_endpoint_update(endpoint=endpoint, values=values, api_key=api_key)
        return Response(LlmEndpointOutputSerializer(endpoint).data)

    @extend_schema(
        request=LlmEndpointInputSerializer,
        responses={200: LlmEndpointOutputSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def update(self, request: Request, pk: str) -> Response:
        """Replace the settings (``name`` and ``base_url`` required; the key kept unless
        given)."""
        return self._update(request, partial=False)

    @extend_schema(
        request=LlmEndpointInputSerializer,
        responses={200: LlmEndpointOutputSerializer, 400: INVALID, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change some settings; ``api_key`` "" removes the key."""
        return self._update(request, partial=True)

    @extend_schema(
        responses={
            204: None,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: OpenApiResponse(description="Strategies use it: choose another endpoint first."),
        }
    )
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete an endpoint no strategy uses: 204; 409 when strategies use it."""
        endpoint = self.get_object()
        self._may_write(request, endpoint)
        llm_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
