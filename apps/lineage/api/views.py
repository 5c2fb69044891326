"""Lineage API: runs (list and whole lineage) and artifact downloads. Read only.

A user sees the runs of the strategies they own (staff: all); another user's run or artifact
is a 404.
"""

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from apps.common.api import NewestFirstCursorPagination, owned_by
from apps.lineage import selectors
from apps.lineage.api.filters import RunFilter
from apps.lineage.api.serializers import RunDetailOutputSerializer, RunListOutputSerializer
from apps.lineage.models import Artifact, Run

OWNER = "strategy__owner"


@extend_schema(tags=["runs"], responses={200: RunListOutputSerializer(many=True), 401: None})
class RunListApi(generics.ListAPIView[Run]):
    """``GET /runs/``: runs newest first, by cursor (``?cursor=``, ``?page_size=`` up to 200),
    without their steps."""

    serializer_class = RunListOutputSerializer
    filterset_class = RunFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Run.objects.none()
        return owned_by(selectors.run_list(), self.request, OWNER)


@extend_schema(tags=["runs"], responses={200: RunDetailOutputSerializer, 401: None, 404: None})
class RunDetailApi(generics.RetrieveAPIView[Run]):
    """``GET /runs/{id}/``: a run's whole lineage in a constant number of queries."""

    serializer_class = RunDetailOutputSerializer

    def get_queryset(self) -> QuerySet[Run]:
        return owned_by(selectors.run_lineage(), self.request, OWNER)


@extend_schema(
    tags=["runs"],
    responses={
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The file, with its own content type (image/png, application/json, "
            "text/plain, …).",
        ),
        401: None,
        404: None,
    },
)
class ArtifactDownloadApi(generics.GenericAPIView[Artifact]):
    """``GET /artifacts/{id}/``: the artifact's file with its content type; 404 if not
    visible."""

    def get_queryset(self) -> QuerySet[Artifact]:
        return owned_by(selectors.artifact_list(), self.request, f"step__run__{OWNER}")

    def get(self, request: Request, pk: int) -> FileResponse:
        """Stream the file; 404 when the row is visible but its file is gone from storage
        (pruned by hand, or a shared ``MEDIA_ROOT`` not mounted here)."""
        artifact = self.get_object()
        try:
            handle = artifact.file.open("rb")
        except FileNotFoundError as error:
            raise NotFound(f"the file of artifact {artifact.pk} is missing from storage") from error
        return FileResponse(handle, content_type=artifact.content_type)
