"""Orders API: orders (list, detail, cancel), fills and positions; an account's positions and
portfolio; strategy positions (list, detail with orders and fills).

Every read is cut to what hangs off the caller's strategies (staff: everything); another
user's order is a 404. Cancelling needs the strategy's owner or staff.
"""

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import IsOwnerOrStaff, NewestFirstCursorPagination, is_staff, owned_by
from apps.orders.api import selectors
from apps.orders.api.filters import FillFilter, OrderFilter, StrategyPositionFilter
from apps.orders.api.serializers import (
    AccountPositionsOutputSerializer,
    FillListOutputSerializer,
    OrderDetailOutputSerializer,
    OrderListOutputSerializer,
    PortfolioOutputSerializer,
    PositionOutputSerializer,
    StrategyPositionDetailOutputSerializer,
    StrategyPositionOutputSerializer,
)
from apps.orders.cancellation import order_cancel
from apps.orders.models import Fill, Order
from apps.positions.models import StrategyPosition
from apps.trading.models import Account
from apps.trading.selectors import accounts_visible_to

OWNER = "strategy__owner"


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
        return order.strategy.owner_id

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


ACCOUNT_NOT_FOUND = OpenApiResponse(
    description="No such account, or not one you own or are a member of."
)
POSITION_NOT_FOUND = OpenApiResponse(
    description="No such strategy position, or not on an account you own or are a member of."
)


def _visible_account(request: Request, pk: int) -> Account:
    """The account ``pk`` if the requesting user may see it (staff: any), else 404."""
    return get_object_or_404(accounts_visible_to(request.user), pk=pk)


@extend_schema(
    tags=["accounts"],
    responses={200: AccountPositionsOutputSerializer, 404: ACCOUNT_NOT_FOUND},
)
class AccountPositionsApi(generics.GenericAPIView[Account]):
    """``GET /accounts/{id}/positions/``: the account's positions at both levels — the broker's
    (``AccountPosition``: broker quantity, strategies' sum, unattributed quantity,
    ``flagged_at``) and the open strategy positions grouped per symbol."""

    serializer_class = AccountPositionsOutputSerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request, pk: int) -> Response:
        """Both levels, by symbol."""
        account = _visible_account(request, pk)
        groups: dict[int, dict[str, Any]] = {}
        for position in selectors.position_list().filter(account_id=account.pk):
            group = groups.setdefault(
                position.symbol_id,
                {
                    "symbol_id": position.symbol_id,
                    "symbol": position.symbol.symbol,
                    "currency": position.symbol.currency,
                    "net_quantity": Decimal(0),
                    "positions": [],
                },
            )
            group["net_quantity"] += position.signed_quantity  # type: ignore[attr-defined]
            group["positions"].append(position)
        body = {
            "account_id": account.pk,
            "account_positions": list(selectors.account_positions(account_id=account.pk)),
            "symbols": list(groups.values()),
        }
        return Response(AccountPositionsOutputSerializer(body).data)


@extend_schema(
    tags=["accounts"], responses={200: PortfolioOutputSerializer, 404: ACCOUNT_NOT_FOUND}
)
class AccountPortfolioApi(generics.GenericAPIView[Account]):
    """``GET /accounts/{id}/portfolio/``: per currency (never converted or added together) and
    per strategy: open quantity, realized P&L, unrealized P&L at the last stored bar close,
    commissions, closed positions, win rate and average R."""

    serializer_class = PortfolioOutputSerializer
    pagination_class = None
    filterset_class = None

    def get(self, request: Request, pk: int) -> Response:
        """The portfolio, computed from the stored strategy positions and bars."""
        account = _visible_account(request, pk)
        cash = dict(account.cash.values_list("currency", "starting_cash"))
        portfolio = selectors.account_portfolio(account_id=account.pk, cash=cash)
        return Response(PortfolioOutputSerializer(portfolio).data)


def _visible_positions(request: Request, positions: QuerySet[StrategyPosition]) -> Any:
    if is_staff(request):
        return positions
    return positions.filter(account_id__in=accounts_visible_to(request.user).values("pk"))


@extend_schema(tags=["positions"], responses={200: StrategyPositionOutputSerializer(many=True)})
class StrategyPositionListApi(generics.ListAPIView[StrategyPosition]):
    """``GET /strategy-positions/``: strategy positions, open and closed, newest first by
    cursor (``?cursor=``, ``?page_size=``); filters ``account``, ``strategy``, ``symbol``,
    ``status``, ``side``. Only positions on accounts you own or are a member of (staff: all)."""

    serializer_class = StrategyPositionOutputSerializer
    filterset_class = StrategyPositionFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[StrategyPosition]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return StrategyPosition.objects.none()
        return _visible_positions(self.request, selectors.strategy_position_list())  # type: ignore[no-any-return]


@extend_schema(
    tags=["positions"],
    responses={200: StrategyPositionDetailOutputSerializer, 404: POSITION_NOT_FOUND},
)
class StrategyPositionDetailApi(generics.RetrieveAPIView[StrategyPosition]):
    """``GET /strategy-positions/{id}/``: one strategy position with its orders and their
    fills; 404 unless it is on an account you own or are a member of (staff: any)."""

    serializer_class = StrategyPositionDetailOutputSerializer

    def get_queryset(self) -> QuerySet[StrategyPosition]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return StrategyPosition.objects.none()
        return _visible_positions(self.request, selectors.strategy_position_detail())  # type: ignore[no-any-return]
