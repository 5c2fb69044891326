"""Trading state API (the kill switch): the global state and each account's.

``GET /trading-state/``: the global state (any signed-in user: it stops their trading too);
``POST /trading-state/`` sets it (staff only). ``GET /accounts/{id}/trading-state/``: the
account's own state, the state that applies to it (the more restrictive of the two) and its
last changes; ``POST`` sets the account's state — by its owner, a member or staff (anyone who
may trade an account may stop it, and start it again). Another user's account is a 404.
Every change records who, why and from where (``api``).
"""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import is_staff
from apps.trading.models import TradingState, TradingStateChange
from apps.trading.selectors import accounts_visible_to
from apps.trading.trading_state import (
    effective_trading_state,
    global_trading_state,
    trading_state_set,
)

RECENT = 20  # changes listed with an account's state
NOT_YOURS = OpenApiResponse(description="No such account, or not one you own or are a member of.")


class TradingStateInputSerializer(serializers.Serializer[dict[str, Any]]):
    """The state to set and why (required: it is shown wherever the state refuses orders)."""

    state = serializers.ChoiceField(choices=TradingState.choices)
    reason = serializers.CharField(max_length=2000, trim_whitespace=True)


class TradingStateChangeSerializer(serializers.ModelSerializer[TradingStateChange]):
    """One recorded change: from ``previous`` to ``state``, why, from where, by whom, when
    (UTC)."""

    changed_by = serializers.CharField(source="changed_by.username", default=None)

    class Meta:
        model = TradingStateChange
        fields = ["id", "account", "state", "previous", "reason", "source", "changed_by"]
        fields += ["created_at"]


class GlobalTradingStateSerializer(serializers.Serializer[dict[str, Any]]):
    """The global state (``active`` when never set) and its latest change (null if none)."""

    state = serializers.ChoiceField(choices=TradingState.choices)
    change = TradingStateChangeSerializer(allow_null=True)


class AccountTradingStateSerializer(serializers.Serializer[dict[str, Any]]):
    """An account's own state, the one that applies (``effective``: state, ``global`` or
    ``account`` scope, reason) and its latest changes, newest first."""

    account = serializers.IntegerField()
    state = serializers.ChoiceField(choices=TradingState.choices)
    effective_state = serializers.ChoiceField(choices=TradingState.choices)
    effective_scope = serializers.CharField()
    effective_reason = serializers.CharField(allow_blank=True)
    changes = TradingStateChangeSerializer(many=True)


def _global_payload() -> dict[str, Any]:
    latest = global_trading_state()
    return {
        "state": latest.state if latest else TradingState.ACTIVE,
        "change": TradingStateChangeSerializer(latest).data if latest else None,
    }


@extend_schema(tags=["trading state"])
class GlobalTradingStateApi(APIView):
    """The platform-wide trading state."""

    @extend_schema(responses={200: GlobalTradingStateSerializer})
    def get(self, request: Request) -> Response:
        """The global state and its latest change."""
        return Response(_global_payload())

    @extend_schema(
        request=TradingStateInputSerializer,
        responses={
            200: GlobalTradingStateSerializer,
            400: OpenApiResponse(description="Unknown state or blank reason."),
            403: OpenApiResponse(description="Only staff set the global state."),
        },
    )
    def post(self, request: Request) -> Response:
        """Set the global state (staff)."""
        if not is_staff(request):
            raise PermissionDenied("only staff set the global trading state")
        data = TradingStateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trading_state_set(
            state=data.validated_data["state"],
            reason=data.validated_data["reason"],
            source="api",
            by=request.user if isinstance(request.user, User) else None,
        )
        return Response(_global_payload())


@extend_schema(tags=["trading state"])
class AccountTradingStateApi(APIView):
    """One account's trading state."""

    def _payload(self, account_id: int) -> dict[str, Any]:
        account = get_object_or_404(accounts_visible_to(self.request.user), pk=account_id)
        effective = effective_trading_state(account_id=account.pk)
        changes = TradingStateChange.objects.filter(account=account).select_related("changed_by")[
            :RECENT
        ]
        return {
            "account": account.pk,
            "state": account.trading_state,
            "effective_state": effective.state,
            "effective_scope": effective.scope,
            "effective_reason": effective.reason,
            "changes": TradingStateChangeSerializer(changes, many=True).data,
        }

    @extend_schema(responses={200: AccountTradingStateSerializer, 404: NOT_YOURS})
    def get(self, request: Request, pk: int) -> Response:
        """The account's own and effective state, and its recent changes."""
        return Response(self._payload(pk))

    @extend_schema(
        request=TradingStateInputSerializer,
        responses={
            200: AccountTradingStateSerializer,
            400: OpenApiResponse(description="Unknown state or blank reason."),
            404: NOT_YOURS,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Set the account's state (owner, member or staff)."""
        account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
        data = TradingStateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        trading_state_set(
            state=data.validated_data["state"],
            reason=data.validated_data["reason"],
            source="api",
            account=account,
            by=request.user if isinstance(request.user, User) else None,
        )
        return Response(self._payload(pk))
