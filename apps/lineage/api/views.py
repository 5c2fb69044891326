"""Lineage API: artifact downloads. Read only. (The runs list and a run's whole lineage are
served by ``apps.composition.api``.)

A user sees the artifacts of the runs of the strategies they own (staff: all); another user's
artifact is a 404.
"""

from django.db.models import QuerySet
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from apps.common.api import owned_by
from apps.lineage import selectors
from apps.lineage.models import Artifact

OWNER = "strategy__owner"


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
