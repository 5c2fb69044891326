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
DOWNLOAD = (
    "The file, with its own content type: a chart as PNG or Plotly JSON, a prompt or an answer "
    "as text."
)


@extend_schema(
    tags=["runs"],
    responses={
        # One entry per content type the pipeline stores (charts: PNG and Plotly JSON; llm:
        # prompt and answer text), so a client and the schema check know every body it may get.
        (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY, description=DOWNLOAD),
        (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description=DOWNLOAD),
        (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description=DOWNLOAD),
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description=DOWNLOAD
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
