"""Runs API: runs (list, and one run's whole lineage with its language-model calls, signal,
orders and fills). Read only.

A user sees the runs of the strategies they own (staff: all); another user's run is a 404.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics

from apps.common.api import NewestFirstCursorPagination, owned_by
from apps.composition import selectors
from apps.composition.api.serializers import RunDetailOutputSerializer, RunListOutputSerializer
from apps.lineage.api.filters import RunFilter
from apps.lineage.models import Run

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
