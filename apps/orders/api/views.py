"""Orders API: orders (list, detail, cancel), fills and positions.

Every read is cut to what hangs off the caller's strategies (staff: everything); another
user's order is a 404. Cancelling needs the strategy's owner or staff.
"""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import IsOwnerOrStaff, NewestFirstCursorPagination, is_staff, owned_by
from apps.orders.api import selectors
from apps.orders.api.filters import FillFilter, OrderFilter
from apps.orders.api.serializers import (
    FillListOutputSerializer,
    OrderDetailOutputSerializer,
    OrderListOutputSerializer,
    PositionOutputSerializer,
)
from apps.orders.cancellation import order_cancel
from apps.orders.models import Fill, Order
from apps.positions.models import StrategyPosition

OWNER = "run__strategy__owner"


@extend_schema(tags=["orders"], responses={200: OrderListOutputSerializer(many=True), 401: None})
class OrderListApi(generics.ListAPIView[Order]):
    """``GET /orders/``: orders newest first, by cursor (``?cursor=``, ``?page_size=``), each
    with its fills count, filled quantity, average fill price, commission, realized P&L, run
    id and ``flagged_at``."""

    serializer_class = OrderListOutputSerializer
    filterset_class = OrderFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        return owned_by(selectors.order_list(), self.request, OWNER)


@extend_schema(tags=["orders"], responses={200: OrderDetailOutputSerializer, 401: None, 404: None})
class OrderDetailApi(generics.RetrieveAPIView[Order]):
    """``GET /orders/{id}/``: one order with its fills and its run id; 404 if not visible."""

    serializer_class = OrderDetailOutputSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return owned_by(selectors.order_detail(), self.request, OWNER)


@extend_schema(
    tags=["orders"],
    request=None,
    responses={
        200: OrderDetailOutputSerializer,
        401: None,
        403: None,
        404: None,
        409: OpenApiResponse(
            description="The order is not working (pending, submitting or "
            "finished): nothing to cancel."
        ),
        503: OpenApiResponse(description="The order's broker is not reachable."),
    },
)
class OrderCancelApi(generics.GenericAPIView[Order]):
    """``POST /orders/{id}/cancel/``: cancel a working order (submitted or partially filled;
    a parent's working children with it) at its broker; 200 with the order as the broker
    confirmed it. 409 for an order that is not working; owner or staff only."""

    serializer_class = OrderDetailOutputSerializer
    permission_classes = [IsAuthenticated, IsOwnerOrStaff]

    def get_queryset(self) -> QuerySet[Order]:
        return owned_by(selectors.order_detail(), self.request, OWNER)

    def owner_of(self, order: Order) -> int | None:
        """The id of the user owning the order's strategy (None: staff only)."""
        return order.run.strategy.owner_id

    def post(self, request: Request, pk: int) -> Response:
        """Cancel the order and answer with it as stored afterwards."""
        order = self.get_object()
        order_cancel(order=order)
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data)


@extend_schema(tags=["orders"], responses={200: FillListOutputSerializer(many=True), 401: None})
class FillListApi(generics.ListAPIView[Fill]):
    """``GET /fills/``: executions in time order, page by page (``?page=``)."""

    serializer_class = FillListOutputSerializer
    filterset_class = FillFilter

    def get_queryset(self) -> QuerySet[Fill]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Fill.objects.none()
        return owned_by(selectors.fill_list(), self.request, f"order__{OWNER}")


@extend_schema(tags=["orders"], responses={200: PositionOutputSerializer(many=True), 401: None})
class PositionListApi(generics.ListAPIView[StrategyPosition]):
    """``GET /positions/``: open strategy positions with last price and unrealized P&L. Staff
    see every position; others the positions on accounts they own or are members of."""

    serializer_class = PositionOutputSerializer
    filterset_class = None

    def get_queryset(self) -> QuerySet[StrategyPosition]:
        positions = selectors.position_list()
        if is_staff(self.request):
            return positions
        return selectors.positions_visible_to(positions, user=self.request.user)
