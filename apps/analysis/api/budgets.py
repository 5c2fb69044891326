"""``GET /strategies/{id}/llm-budget/``: a strategy's LLM budgets (its own and its owner's, per
UTC day and month) with the spend so far and what remains, in USD (``apps.analysis.budgets``).
A strategy that is not the caller's (staff: any) is a 404."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.analysis.budgets import llm_budget_use
from apps.common.api import owned_by
from apps.strategies.models import Strategy


class BudgetUseSerializer(serializers.Serializer[Any]):
    """One limit: whose (``strategy`` or ``user``), which period (``day``, ``month``), the limit
    (null: none), the spend since the period began (UTC) and what remains (null: no limit)."""

    scope = serializers.ChoiceField(choices=["strategy", "user"])
    period = serializers.ChoiceField(choices=["day", "month"])
    limit_usd = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    spent_usd = serializers.DecimalField(max_digits=14, decimal_places=6)
    remaining_usd = serializers.DecimalField(max_digits=14, decimal_places=6, allow_null=True)
    since = serializers.DateTimeField()


@extend_schema(tags=["strategies"])
class StrategyLlmBudgetApi(APIView):
    """The strategy's LLM budgets and their use."""

    @extend_schema(
        responses={
            200: BudgetUseSerializer(many=True),
            404: OpenApiResponse(description="No such strategy of yours."),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        """Each budget that applies to the strategy, with its spend and remainder."""
        strategy = get_object_or_404(owned_by(Strategy.objects.all(), request, "owner"), pk=pk)
        uses = llm_budget_use(strategy=strategy, now=timezone.now())
        return Response(BudgetUseSerializer(uses, many=True).data)
