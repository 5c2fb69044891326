"""Signals API: the list and one signal with its checks. Read only."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request

from apps.common.api import owned_by
from apps.signals.api.filters import SignalFilter
from apps.signals.api.serializers import SignalOutputSerializer
from apps.signals.models import Signal

ERRORS = {401: None, 404: None}


def _visible(request: Request) -> QuerySet[Signal]:
    return owned_by(
        Signal.objects.select_related("strategy__symbol").order_by("-created_at", "-id"),
        request,
        "strategy__owner",
    )


@extend_schema(tags=["signals"], responses={200: SignalOutputSerializer(many=True), 401: None})
class SignalListApi(generics.ListAPIView[Signal]):
    """``GET /signals/``: the signals of the caller's strategies (staff: all), newest first,
    page by page (``?page=``, ``?page_size=``)."""

    serializer_class = SignalOutputSerializer
    filterset_class = SignalFilter

    def get_queryset(self) -> QuerySet[Signal]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Signal.objects.none()
        return _visible(self.request)


@extend_schema(tags=["signals"], responses={200: SignalOutputSerializer, **ERRORS})
class SignalDetailApi(generics.RetrieveAPIView[Signal]):
    """``GET /signals/{id}/``: one signal with its checks and run id; 404 if not visible."""

    serializer_class = SignalOutputSerializer

    def get_queryset(self) -> QuerySet[Signal]:
        return _visible(self.request)
