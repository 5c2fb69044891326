"""Prompt-templates API: versions (list, read, save the next), preview against a run, scores.

Templates are shared: any logged-in user reads them and saves versions. A saved version is
immutable, so there is no update or delete (405).
"""

from typing import Any

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analysis.api.serializers import (
    PromptPreviewInputSerializer,
    PromptPreviewOutputSerializer,
    PromptScoreSerializer,
    PromptTemplateInputSerializer,
    PromptTemplateOutputSerializer,
)
from apps.analysis.models import PromptTemplate
from apps.analysis.selectors import prompt_scores_latest
from apps.analysis.services import prompt_template_save
from apps.common.api import owned_by
from apps.lineage.models import Run
from apps.pipeline.preview import prompt_preview


class PromptTemplateFilter(filters.FilterSet):
    """``?name=`` (exact): every version of one template."""

    class Meta:
        model = PromptTemplate
        fields = ("name",)


@extend_schema(tags=["prompt-templates"])
class PromptTemplateViewSet(viewsets.GenericViewSet[PromptTemplate]):
    """Every version of every template, by name then newest version first."""

    serializer_class = PromptTemplateOutputSerializer
    filterset_class = PromptTemplateFilter

    def get_queryset(self) -> Any:
        """All versions (shared reference data)."""
        return PromptTemplate.objects.all()

    @extend_schema(responses={200: PromptTemplateOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of versions; ``?name=`` for one template, ``page`` and ``page_size``."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PromptTemplateOutputSerializer(page, many=True).data)

    @extend_schema(
        responses={
            200: PromptTemplateOutputSerializer,
            404: OpenApiResponse(description="No such template version."),
        }
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        """One version."""
        return Response(PromptTemplateOutputSerializer(self.get_object()).data)

    @extend_schema(
        request=PromptTemplateInputSerializer,
        responses={
            201: PromptTemplateOutputSerializer,
            200: OpenApiResponse(
                PromptTemplateOutputSerializer,
                description="The body equals the latest version's: that version, unchanged.",
            ),
            400: OpenApiResponse(description='Invalid input: {"<field>": ["<message>"]}.'),
        },
    )
    def create(self, request: Request) -> Response:
        """Save ``body`` as the next version of ``name`` (version 1 for a new name): 201 with
        it; 200 with the latest version when its body is the same (no new version)."""
        serializer = PromptTemplateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        name, body = serializer.validated_data["name"], serializer.validated_data["body"]
        latest = PromptTemplate.objects.filter(name=name).values_list("pk", flat=True).first()
        template = prompt_template_save(name=name, body=body)
        code = status.HTTP_200_OK if template.pk == latest else status.HTTP_201_CREATED
        return Response(PromptTemplateOutputSerializer(template).data, status=code)

    @extend_schema(
        request=PromptPreviewInputSerializer,
        responses={
            200: PromptPreviewOutputSerializer,
            400: OpenApiResponse(
                description='Bad input, or the template or data failed: {"detail": "<message>",'
                ' "code": "PromptRenderError" | "NotEnoughBarsError" | "IndicatorSpecError" |'
                " …}."
            ),
            404: OpenApiResponse(description="No such template version, or run not yours."),
        },
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str) -> Response:
        """Render this version against a run's data (``apps.pipeline.preview.prompt_preview``)
        without calling any model; nothing is written."""
        template = self.get_object()
        serializer = PromptPreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        runs = owned_by(Run.objects.all(), request, "strategy__owner")
        run = get_object_or_404(runs, pk=serializer.validated_data["run_id"])
        prompt = prompt_preview(template=template, run=run)
        return Response(PromptPreviewOutputSerializer({"prompt": prompt}).data)

    @extend_schema(responses={200: PromptScoreSerializer(many=True)}, filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def scores(self, request: Request) -> Response:
        """The latest performance score of each template version that has one, by name then
        newest version (computed daily; ``manage.py prompt_performance``). Not paginated."""
        return Response(PromptScoreSerializer(prompt_scores_latest(), many=True).data)
