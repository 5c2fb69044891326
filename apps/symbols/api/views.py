"""Symbols API: the instrument cache (list, search, read) and IBKR refresh and search.

Symbols are shared reference data: any logged-in user reads them, refreshes one and searches
IBKR. Refresh and IBKR search need ``BROKER=ibkr`` (409 otherwise). IBKR failures: TWS
unreachable or silent (``BrokerUnavailableError``, e.g. ``IbkrConnectionError``) is 503
``{"detail": "<message>"}`` — the request may succeed later; a search or contract lookup that
IBKR answered without a usable result (``SymbolSearchError``: no contract, several, a conId
owned by another row) is 400 ``{"detail": "<message>", "code": "SymbolSearchError"}`` through
the shared exception handler — asking again will not help.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from apps.ibkr.symbol_search import symbol_refresh, symbols_search
from apps.symbols.api.filters import SymbolFilter
from apps.symbols.api.serializers import IbkrSearchInputSerializer, SymbolSerializer
from apps.symbols.models import Symbol

T = TypeVar("T")
NEEDS_IBKR = OpenApiResponse(
    description='Not on IBKR: {"detail": "symbol refresh needs BROKER=ibkr"} ("symbol search …"'
    " for the search)."
)
IBKR_DOWN = OpenApiResponse(description='TWS unreachable or silent: {"detail": "<message>"}.')
IBKR_NO_RESULT = OpenApiResponse(
    description='IBKR found no single contract: {"detail": "<message>", '
    '"code": "SymbolSearchError"}.'
)


class BrokerNotIbkr(APIException):
    """409: the operation talks to IBKR, and this deployment's broker is not IBKR."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "symbol refresh needs BROKER=ibkr"
    default_code = "broker_not_ibkr"


def _with_ibkr(operation: str, call: Callable[[], T]) -> T:
    """Run an IBKR call: 409 ``"<operation> needs BROKER=ibkr"`` unless ``BROKER=ibkr``; 503
    when TWS is unavailable (the broker's ``BrokerUnavailableError``, answered by the API's
    exception handler)."""
    if settings.BROKER != "ibkr":
        raise BrokerNotIbkr(f"{operation} needs BROKER=ibkr")
    return call()


@extend_schema(tags=["symbols"])
class SymbolViewSet(viewsets.GenericViewSet[Symbol]):
    """The instrument cache, by ticker."""

    serializer_class = SymbolSerializer
    filterset_class = SymbolFilter

    def get_queryset(self) -> Any:
        """Every symbol (shared reference data)."""
        return Symbol.objects.all()

    @extend_schema(responses={200: SymbolSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of symbols; ``search``, ``sec_type``, ``currency``, ``exchange``, ``page``,
        ``page_size``."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SymbolSerializer(page, many=True).data)

    @extend_schema(
        responses={200: SymbolSerializer, 404: OpenApiResponse(description="No such symbol.")}
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        """One symbol."""
        return Response(SymbolSerializer(self.get_object()).data)

    @extend_schema(
        request=None,
        responses={
            200: SymbolSerializer,
            400: IBKR_NO_RESULT,
            404: OpenApiResponse(description="No such symbol."),
            409: NEEDS_IBKR,
            503: IBKR_DOWN,
        },
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: str) -> Response:
        """Fetch the symbol's contract details from IBKR now (conId, exchange, description,
        time zone, min tick, ``fetched_at``) and return the updated symbol."""
        symbol = self.get_object()
        refreshed = _with_ibkr("symbol refresh", lambda: symbol_refresh(symbol=symbol))
        return Response(SymbolSerializer(refreshed).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="A ticker or name prefix.")
        ],
        responses={
            200: SymbolSerializer(many=True),
            400: IBKR_NO_RESULT,
            409: NEEDS_IBKR,
            503: IBKR_DOWN,
        },
        filters=False,
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="ibkr-search",
        pagination_class=None,
        filterset_class=None,
    )
    def ibkr_search(self, request: Request) -> Response:
        """Search IBKR for ``q``: each match, in IBKR's order, stored in (or refreshed into)
        the cache — contract details are reused for 7 days. Not paginated."""
        serializer = IbkrSearchInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = serializer.validated_data["q"]
        return Response(
            SymbolSerializer(
                _with_ibkr("symbol search", lambda: symbols_search(query=query)), many=True
            ).data
        )
