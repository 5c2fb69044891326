"""Orders API: orders (list, detail, cancel), fills and positions; an account's positions and
portfolio; strategy positions (list, detail with orders and fills); closing positions (one
strategy position, close-all of an account or a strategy) and the position actions recording
them.

Every read is cut to what hangs off the caller's strategies (staff: everything); another
user's order is a 404. Cancelling needs the strategy's owner or staff. Positions, their
closes and position actions follow their account: its owner and members (staff: every one);
another account's position is a 404.
"""

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import IsOwnerOrStaff, NewestFirstCursorPagination, is_staff, owned_by
from apps.orders.api import selectors
from apps.orders.api.filters import (
    FillFilter,
    OrderFilter,
    PositionActionFilter,
    StrategyPositionFilter,
)
from apps.orders.api.serializers import (
    AccountPositionsOutputSerializer,
    CloseAllInputSerializer,
    CloseAllOutputSerializer,
    CloseInputSerializer,
    FillListOutputSerializer,
    OrderDetailOutputSerializer,
    OrderListOutputSerializer,
    PortfolioOutputSerializer,
    PositionActionDetailOutputSerializer,
    PositionActionOutputSerializer,
    PositionOutputSerializer,
    StrategyPositionDetailOutputSerializer,
    StrategyPositionOutputSerializer,
)
from apps.orders.cancellation import order_cancel
from apps.orders.models import Fill, Order, OrderReason, PositionAction
from apps.orders.position_actions import (
    CloseAllReport,
    CloseRequest,
    position_close,
    positions_close_all,
)
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
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


CLOSE_REFUSED = OpenApiResponse(
    description="Nothing to close (the position is flat or closed), or a close of it is "
    "already working: ``detail`` says which (``code`` PositionNotOpenError or "
    "PositionCloseInProgressError)."
)
BROKER_UNAVAILABLE = OpenApiResponse(
    description="The broker could not be reached: the close was withdrawn (the position keeps "
    "its stop and target) or, if sending it failed in transit, the retry pass resends it."
)
BROKER_REJECTED = OpenApiResponse(
    description="Invalid input, or the broker refused the close (``code`` BrokerRejectedError)."
)


@extend_schema(
    tags=["positions"],
    request=CloseInputSerializer,
    responses={
        200: PositionActionDetailOutputSerializer,
        400: BROKER_REJECTED,
        401: None,
        404: POSITION_NOT_FOUND,
        409: CLOSE_REFUSED,
        503: BROKER_UNAVAILABLE,
    },
)
class StrategyPositionCloseApi(generics.GenericAPIView[StrategyPosition]):
    """``POST /strategy-positions/{id}/close/`` with ``{"note": "..."}``: a person's close of
    the position now (kind ``person``): its stop, target and entry remainder are cancelled at
    the broker, then one market exit goes out for what it holds (``position_close``). 200 with
    the position action and its exit order; 409 when there is nothing to close or a close is
    already working. The account's owner, its members and staff only (others: 404)."""

    serializer_class = CloseInputSerializer

    def get_queryset(self) -> QuerySet[StrategyPosition]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return StrategyPosition.objects.none()
        return _visible_positions(  # type: ignore[no-any-return]
            self.request, StrategyPosition.objects.select_related("strategy", "account")
        )

    def post(self, request: Request, pk: int) -> Response:
        """Close the position; answer with its position action as stored afterwards."""
        position = self.get_object()
        body = CloseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = position_close(
            position=position,
            request=CloseRequest(
                kind=OrderReason.PERSON,
                market_time=timezone.now(),
                requested_by=request.user,  # type: ignore[arg-type]
                note=body.validated_data["note"],
            ),
        )
        action = selectors.position_action_detail().get(pk=action.pk)
        return Response(PositionActionDetailOutputSerializer(action).data)


def _close_all_answer(report: CloseAllReport) -> Response:
    closes = selectors.position_action_detail().filter(pk__in=[a.pk for a in report.closes])
    body = {
        "action": selectors.position_action_list().get(pk=report.action.pk),
        "cancelled": report.cancelled,
        "closes": list(closes.order_by("id")),
        "failures": report.errors,
    }
    return Response(CloseAllOutputSerializer(body).data)


CLOSE_ALL_RESPONSES = {
    200: CloseAllOutputSerializer,
    400: OpenApiResponse(description="An unknown symbol or a strategy not on the account."),
    401: None,
}


@extend_schema(
    tags=["accounts"],
    request=CloseAllInputSerializer,
    responses={**CLOSE_ALL_RESPONSES, 404: ACCOUNT_NOT_FOUND},
)
class AccountCloseAllApi(generics.GenericAPIView[Account]):
    """``POST /accounts/{id}/close-all/`` with ``{"note", "symbol"?, "strategy"?}``: a
    person's close-all now (kind ``person``): every working entry in the scope that opened
    nothing yet is cancelled and every open strategy position in it is closed
    (``positions_close_all``); the scope is the account, narrowed to a symbol and/or a
    strategy (ids). 200 with the umbrella position action (``failed`` when anything failed),
    the cancelled orders, each position's close and the failures. The account's owner, its
    members and staff only (others: 404)."""

    serializer_class = CloseAllInputSerializer
    pagination_class = None
    filterset_class = None

    def post(self, request: Request, pk: int) -> Response:
        """Close everything in the scope; answer with the report."""
        account = _visible_account(request, pk)
        body = CloseAllInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        strategy = None
        if data["strategy"] is not None:
            strategy = (
                Strategy.objects.filter(
                    Q(account=account) | Q(positions__account=account), pk=data["strategy"]
                )
                .distinct()
                .first()
            )
            if strategy is None:
                raise ValidationError({"strategy": ["No such strategy on this account."]})
        if data["symbol"] is not None and not Symbol.objects.filter(pk=data["symbol"]).exists():
            raise ValidationError({"symbol": ["No such symbol."]})
        report = positions_close_all(
            account=account,
            kind=OrderReason.PERSON,
            market_time=timezone.now(),
            strategy=strategy,
            symbol_id=data["symbol"],
            requested_by=request.user,  # type: ignore[arg-type]
            note=data["note"],
        )
        return _close_all_answer(report)


@extend_schema(
    tags=["strategies"],
    request=CloseInputSerializer,
    responses={
        **CLOSE_ALL_RESPONSES,
        404: OpenApiResponse(
            description="No such strategy, or its account is not one you own or are a member of."
        ),
    },
)
class StrategyCloseAllApi(generics.GenericAPIView[Strategy]):
    """``POST /strategies/{id}/close-all/`` with ``{"note": "..."}``: a person's close-all of
    the strategy on its account now: its working entries that opened nothing yet are
    cancelled and its open positions closed (``positions_close_all`` narrowed to the
    strategy). 200 with the report as ``/accounts/{id}/close-all/``. The owner and members
    of the strategy's account and staff only (others: 404)."""

    serializer_class = CloseInputSerializer
    pagination_class = None
    filterset_class = None

    def post(self, request: Request, pk: int) -> Response:
        """Close the strategy's positions; answer with the report."""
        strategy = get_object_or_404(
            Strategy.objects.select_related("account").filter(
                account__in=accounts_visible_to(request.user)
            ),
            pk=pk,
        )
        body = CloseInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = positions_close_all(
            account=strategy.account,
            kind=OrderReason.PERSON,
            market_time=timezone.now(),
            strategy=strategy,
            requested_by=request.user,  # type: ignore[arg-type]
            note=body.validated_data["note"],
        )
        return _close_all_answer(report)


def _visible_actions(request: Request, actions: QuerySet[PositionAction]) -> Any:
    if is_staff(request):
        return actions
    return actions.filter(account_id__in=accounts_visible_to(request.user).values("pk"))


@extend_schema(tags=["positions"], responses={200: PositionActionOutputSerializer(many=True)})
class PositionActionListApi(generics.ListAPIView[PositionAction]):
    """``GET /position-actions/``: closes, reverses, scale-ins, trails, end-of-day and
    people's closes, newest first by cursor (``?cursor=``, ``?page_size=``); filters
    ``account``, ``strategy``, ``strategy_position``, ``kind``, ``status``. Only actions on
    accounts you own or are a member of (staff: all)."""

    serializer_class = PositionActionOutputSerializer
    filterset_class = PositionActionFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[PositionAction]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PositionAction.objects.none()
        return _visible_actions(self.request, selectors.position_action_list())  # type: ignore[no-any-return]


@extend_schema(
    tags=["positions"],
    responses={
        200: PositionActionDetailOutputSerializer,
        404: OpenApiResponse(
            description="No such position action, or not on an account you own or are a member of."
        ),
    },
)
class PositionActionDetailApi(generics.RetrieveAPIView[PositionAction]):
    """``GET /position-actions/{id}/``: one position action with the orders it sent (each
    with its fills)."""

    serializer_class = PositionActionDetailOutputSerializer

    def get_queryset(self) -> QuerySet[PositionAction]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return PositionAction.objects.none()
        return _visible_actions(self.request, selectors.position_action_detail())  # type: ignore[no-any-return]
