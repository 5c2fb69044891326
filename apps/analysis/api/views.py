"""Prompt-templates API: versions (list, read, save the next), publish, preview against a run,
scores.

Templates belong to users (security spec, "Prompt templates belong to users"): a user reads
their own names and the published ones (staff: every one); another user's unpublished template
is a 404 on every route. Only a name's owner saves its versions (staff too for the operator's,
owner null); a published template of another owner is a 403 on ``versions``. Staff publish. A
saved version is immutable, so there is no update or delete (405).
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analysis.api.serializers import (
    PromptPreviewInputSerializer,
    PromptPreviewOutputSerializer,
    PromptPublishInputSerializer,
    PromptScoreSerializer,
    PromptTemplateInputSerializer,
    PromptTemplateOutputSerializer,
    PromptVersionInputSerializer,
)
from apps.analysis.models import PromptTemplate
from apps.analysis.selectors import (
    prompt_scores_latest,
    prompt_template_writable,
    prompt_templates_visible,
)
from apps.analysis.services import prompt_template_publish, prompt_template_save
from apps.common.api import is_staff, owned_by
from apps.lineage.models import Run
from apps.pipeline.preview import prompt_preview

NOT_FOUND = OpenApiResponse(description="No such template version, or not yours to read.")


class PromptTemplateFilter(filters.FilterSet):
    """``?name=`` (exact): every version of one name (of each owner you may read);
    ``?owner=`` (user id): one owner's; ``?is_published=``."""

    # A plain number, not a choice of users: an unknown id is an empty list, not a 400 that
    # would tell which user ids exist.
    owner = filters.NumberFilter(field_name="owner_id", help_text="The owner's user id.")

    class Meta:
        model = PromptTemplate
        fields = ("name", "owner", "is_published")


@extend_schema(tags=["prompt-templates"])
class PromptTemplateViewSet(viewsets.GenericViewSet[PromptTemplate]):
    """The versions you may read (your own names and the published ones; staff: all), by name,
    owner, then newest version first."""

    serializer_class = PromptTemplateOutputSerializer
    filterset_class = PromptTemplateFilter

    def get_queryset(self) -> Any:
        """The versions the requesting user may read, owner and author joined."""
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return PromptTemplate.objects.none()
        visible = prompt_templates_visible(user=self.request.user)
        return visible.select_related("owner", "author")

    def _output(self, template: PromptTemplate, code: int = status.HTTP_200_OK) -> Response:
        context = {"request": self.request}
        return Response(PromptTemplateOutputSerializer(template, context=context).data, code)

    @extend_schema(responses={200: PromptTemplateOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of versions; ``?name=`` for one name, ``?owner=``, ``?is_published=``,
        ``page`` and ``page_size``."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        serializer = PromptTemplateOutputSerializer(page, many=True, context={"request": request})
        return self.get_paginated_response(serializer.data)

    @extend_schema(responses={200: PromptTemplateOutputSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One version."""
        return self._output(self.get_object())

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
        """Save ``body`` as the next version of your own template ``name`` (version 1 for a
        name you do not have yet, whoever else has one): 201 with it; 200 with the latest
        version when its body is the same (no new version)."""
        serializer = PromptTemplateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = cast(User, request.user)
        return self._save(
            user, serializer.validated_data["name"], serializer.validated_data["body"]
        )

    def _save(self, owner: User | None, name: str, body: str) -> Response:
        """Save the next version of ``owner``'s ``name`` authored by the requesting user."""
        latest = (
            PromptTemplate.objects.filter(owner=owner, name=name)
            .order_by("-version")
            .values_list("pk", flat=True)
            .first()
        )
        template = prompt_template_save(
            owner=owner, name=name, body=body, author=cast(User, self.request.user)
        )
        return self._output(
            template, status.HTTP_200_OK if template.pk == latest else status.HTTP_201_CREATED
        )

    @extend_schema(
        request=PromptVersionInputSerializer,
        responses={
            201: PromptTemplateOutputSerializer,
            200: OpenApiResponse(
                PromptTemplateOutputSerializer,
                description="The body equals the latest version's: that version, unchanged.",
            ),
            400: OpenApiResponse(description='Invalid input: {"body": ["<message>"]}.'),
            403: OpenApiResponse(description="Readable (published) but not yours to write."),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def versions(self, request: Request, pk: str) -> Response:
        """Save ``body`` as the next version of this version's name (its owner only; staff
        for the operator's templates): 201 with it, 200 when the body equals the latest."""
        template = self.get_object()
        if not prompt_template_writable(template=template, user=request.user):
            raise PermissionDenied("This prompt template is read-only to you; save your own.")
        serializer = PromptVersionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._save(template.owner, template.name, serializer.validated_data["body"])

    @extend_schema(
        request=PromptPublishInputSerializer,
        responses={
            200: PromptTemplateOutputSerializer,
            400: OpenApiResponse(
                description="Another owner already published that name: "
                '{"detail": "…", "code": "PromptTemplatePublishedNameTakenError"}.'
            ),
            403: OpenApiResponse(description="Not staff."),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        """Staff only: publish (``is_published`` true) or withdraw the name of this version,
        every version at once; 200 with this version as it is now."""
        template = self.get_object()
        if not is_staff(request):
            raise PermissionDenied("Only staff publish prompt templates.")
        serializer = PromptPublishInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prompt_template_publish(
            template=template, published=serializer.validated_data["is_published"]
        )
        template.refresh_from_db(fields=["is_published"])
        return self._output(template)

    @extend_schema(
        request=PromptPreviewInputSerializer,
        responses={
            200: PromptPreviewOutputSerializer,
            400: OpenApiResponse(
                description='Bad input, or the template or data failed: {"detail": "<message>",'
                ' "code": "PromptRenderError" | "NotEnoughBarsError" | "IndicatorSpecError" |'
                " …}."
            ),
            404: OpenApiResponse(
                description="No such template version, not yours to read, or run not yours."
            ),
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

    @extend_schema(
        responses={200: PromptScoreSerializer(many=True)},
        filters=False,
        parameters=[
            OpenApiParameter(
                "owner",
                int,
                description="Staff only: one owner's scores (user id); without it, every "
                "owner's. Ignored for other users, who always get their own.",
            )
        ],
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def scores(self, request: Request) -> Response:
        """The latest performance score of each template version your strategies produced
        signals with (scored from your signals only; staff: every owner's), by name, newest
        version, then owner (computed daily; ``manage.py prompt_performance``). Not paginated."""
        if not is_staff(request):
            scores = prompt_scores_latest(owner_id=request.user.pk)
        elif (owner := request.query_params.get("owner")) is not None:
            if not (owner.isascii() and owner.isdigit()):
                raise ValidationError({"owner": ["A user id (a whole number)."]})
            scores = prompt_scores_latest(owner_id=int(owner))
        else:
            scores = prompt_scores_latest(all_owners=True)
        return Response(PromptScoreSerializer(scores, many=True).data)
