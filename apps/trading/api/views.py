"""Trading accounts API: list, create (paper), detail and change.

A user sees the accounts they own or are a member of (staff: every account); any other id is
a 404, the same as one that does not exist. A paper account is created for the requesting
user; IBKR accounts are created and assigned by staff in the admin. The owner changes a paper
account's name, position mode and policies; staff change any account.
"""

from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import is_staff
from apps.trading.api.serializers import (
    AccountCreateInputSerializer,
    AccountDetailOutputSerializer,
    AccountOutputSerializer,
    AccountUpdateInputSerializer,
)
from apps.trading.models import Account, AccountCash, BrokerKind
from apps.trading.selectors import accounts_visible_to
from apps.trading.services import account_paper_create, account_update

NOT_FOUND = OpenApiResponse(description="No such account, or not one you own or are a member of.")
INVALID = OpenApiResponse(description='Invalid input: {"<field>": ["<message>", …]}.')
NOT_YOURS_TO_CHANGE = (
    "Only the owner changes a paper account; only staff change an IBKR account or another user's."
)
FORBIDDEN = OpenApiResponse(description=NOT_YOURS_TO_CHANGE)


def visible_accounts(request: Request) -> QuerySet[Account]:
    """The accounts the requesting user may see (``accounts_visible_to``), by name."""
    return accounts_visible_to(request.user).order_by("name", "id")


@extend_schema(tags=["accounts"])
class AccountListApi(generics.ListCreateAPIView[Account]):
    """``GET /accounts/``: the accounts you own or are a member of (staff: all), by name, page
    by page, without backtests' paper accounts (``paper_clock`` set). ``POST /accounts/``: a
    new paper account of yours."""

    serializer_class = AccountOutputSerializer

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Account.objects.none()
        # a backtest variant's paper account (its own paper clock) belongs to the backtest:
        # never listed, so no account picker offers it
        listed = visible_accounts(self.request).filter(paper_clock__isnull=True)
        return listed.prefetch_related(
            Prefetch("cash", queryset=AccountCash.objects.order_by("currency"))
        )

    @extend_schema(
        request=AccountCreateInputSerializer,
        responses={201: AccountDetailOutputSerializer, 400: INVALID},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create a paper account owned by you with starting cash per currency; 201 with it."""
        serializer = AccountCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        cash = {row["currency"]: row["starting_cash"] for row in values.pop("cash")}
        account = account_paper_create(
            owner=cast(User, request.user), name=values.pop("name"), cash=cash, **values
        )
        return Response(
            AccountDetailOutputSerializer(_detail(account.pk)).data,
            status=status.HTTP_201_CREATED,
        )


def _detail_queryset() -> QuerySet[Account]:
    return Account.objects.prefetch_related(
        Prefetch("cash", queryset=AccountCash.objects.order_by("currency")),
        Prefetch("members", queryset=User.objects.order_by("username")),
    )


def _detail(pk: int) -> Account:
    return _detail_queryset().get(pk=pk)


@extend_schema(tags=["accounts"])
class AccountDetailApi(generics.RetrieveUpdateAPIView[Account]):
    """``GET /accounts/{id}/``: one account with its cash per currency and its members.
    ``PATCH``: change its name, position mode, policies or max position per symbol."""

    serializer_class = AccountDetailOutputSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Account.objects.none()
        return _detail_queryset().filter(pk__in=accounts_visible_to(self.request.user))

    @extend_schema(
        request=AccountUpdateInputSerializer,
        responses={
            200: AccountDetailOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the account: its owner for a paper account, staff for any; 403 otherwise."""
        account = self.get_object()
        owner_may = account.broker == BrokerKind.PAPER and account.owner_id == request.user.pk
        if not (owner_may or is_staff(request)):
            raise PermissionDenied(NOT_YOURS_TO_CHANGE)
        serializer = AccountUpdateInputSerializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account_update(account=account, values=dict(serializer.validated_data))
        return Response(AccountDetailOutputSerializer(_detail(account.pk)).data)
