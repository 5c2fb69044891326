"""Performance API (read only): P&L attribution per currency and daily equity curves.

``GET /strategies/{id}/performance/``, ``GET /accounts/{id}/performance/`` and
``GET /performance/prompts/``. A user sees the strategies they own and the accounts they own
or are a member of (staff: all); another user's strategy or account is a 404. The prompt
figures cover the positions of the user's strategies (staff: every strategy).
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import owned_by
from apps.composition import performance
from apps.composition.api.performance_serializers import (
    AccountPerformanceSerializer,
    PromptPerformanceSerializer,
    StrategyPerformanceSerializer,
)
from apps.strategies.models import Strategy
from apps.trading.selectors import accounts_visible_to


@extend_schema(
    tags=["performance"],
    responses={200: StrategyPerformanceSerializer, 401: None, 404: None},
)
class StrategyPerformanceApi(APIView):
    """``GET /strategies/{id}/performance/``: the strategy's P&L per currency (realized,
    unrealized, commissions, win rate, average R, max drawdown) and daily equity curve."""

    def get(self, request: Request, pk: int) -> Response:
        """The figures of the strategy ``pk``; 404 when the user may not see it."""
        strategy = get_object_or_404(
            owned_by(Strategy.objects.select_related("symbol"), request, "owner"), pk=pk
        )
        body = {"strategy": strategy.pk, "currencies": performance.strategy_performance(strategy)}
        return Response(StrategyPerformanceSerializer(body).data)


@extend_schema(
    tags=["performance"],
    responses={200: AccountPerformanceSerializer, 401: None, 404: None},
)
class AccountPerformanceApi(APIView):
    """``GET /accounts/{id}/performance/``: the account's P&L per currency over every strategy
    position on it, and its daily equity curve from its starting cash."""

    def get(self, request: Request, pk: int) -> Response:
        """The figures of the account ``pk``; 404 when the user may not see it."""
        account = get_object_or_404(accounts_visible_to(request.user), pk=pk)
        body = {"account": account.pk, "currencies": performance.account_performance(account)}
        return Response(AccountPerformanceSerializer(body).data)


@extend_schema(
    tags=["performance"],
    responses={200: PromptPerformanceSerializer(many=True), 401: None},
)
class PromptPerformanceApi(APIView):
    """``GET /performance/prompts/``: P&L per prompt version (of the run that opened each
    position), model and currency over the user's strategies; not paginated."""

    def get(self, request: Request) -> Response:
        """One row per (version, model, currency), ordered by template name, version, model
        and currency."""
        # A backtest's hidden copies trade past windows: their P&L is the backtest's report's.
        strategies = owned_by(Strategy.objects.filter(backtest_of__isnull=True), request, "owner")
        rows = performance.prompt_performance(strategies)
        return Response(PromptPerformanceSerializer(rows, many=True).data)
