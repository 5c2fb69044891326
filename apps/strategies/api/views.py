"""Strategies API: CRUD, (de)activation, run now and upcoming schedule slots.

Every route needs a logged-in user; a user sees and changes only the strategies they own (staff:
all), so another user's strategy is a 404. Writes go through ``apps.strategies.lifecycle``; a
run asked for here is sent to a worker by the pipeline (``apps.pipeline.tasks.enqueue_runs``).
"""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import IsOwnerOrStaff, owned_by
from apps.pipeline.tasks import enqueue_runs
from apps.strategies.api.filters import StrategyFilter
from apps.strategies.api.serializers import (
    NextSlotsInputSerializer,
    NextSlotsOutputSerializer,
    RunEnqueuedSerializer,
    RunNowInputSerializer,
    StrategyInputSerializer,
    StrategyOutputSerializer,
)
from apps.strategies.lifecycle import (
    strategy_activate,
    strategy_create,
    strategy_deactivate,
    strategy_delete,
    strategy_next_slots,
    strategy_run_create,
    strategy_update,
)
from apps.strategies.models import Strategy

NOT_FOUND = OpenApiResponse(description="No such strategy, or not yours.")
INVALID = OpenApiResponse(description='Invalid input: {"<field>": ["<message>", …]}.')
LIVE_FORBIDDEN = OpenApiResponse(
    description="A live strategy and you (or its owner) lack the strategies.trade_live "
    'permission: {"detail": "live trading needs …", "code": "LiveTradingNotAllowedError"}.'
)

LIMIT_FORBIDDEN = OpenApiResponse(
    description="An active strategy over its owner's limits: "
    '{"detail": "… STRATEGIES_MAX_ACTIVE_PER_USER allows 20 per user …", '
    '"code": "StrategyLimitError", "setting": "STRATEGIES_MAX_ACTIVE_PER_USER"} '
    "(or SCHEDULE_MIN_INTERVAL_S for a schedule firing too often)."
)
FORBIDDEN = OpenApiResponse(
    description=f"{LIVE_FORBIDDEN.description} Or: {LIMIT_FORBIDDEN.description}"
)


@extend_schema(tags=["strategies"])
class StrategyViewSet(viewsets.GenericViewSet[Strategy]):
    """Strategies owned by the requesting user (staff: every strategy)."""

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]
    serializer_class = StrategyOutputSerializer
    filterset_class = StrategyFilter

    def get_queryset(self) -> Any:
        """Visible strategies, with the rows validation reads (symbol, template) joined."""
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Strategy.objects.none()
        strategies = Strategy.objects.select_related(
            "symbol", "prompt_template", "llm_endpoint", "account"
        )
        return owned_by(strategies, self.request, "owner")

    def owner_of(self, obj: Strategy) -> int | None:
        """The owner's user id (``IsOwnerOrStaff``)."""
        return obj.owner_id

    def _output(self, strategy: Strategy, code: int = status.HTTP_200_OK) -> Response:
        return Response(StrategyOutputSerializer(strategy).data, status=code)

    @extend_schema(responses={200: StrategyOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of strategies (a backtest's hidden copies left out), ordered by slug;
        filters ``is_active``, ``symbol`` (id), ``trading_mode``, ``search`` (name or slug);
        ``page`` and ``page_size``."""
        # A backtest's hidden copies (``backtest_of``) are the backtest's, not strategies of
        # the user's own: never listed.
        visible = self.get_queryset().filter(backtest_of__isnull=True)
        page = self.paginate_queryset(self.filter_queryset(visible))
        serializer = StrategyOutputSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        request=StrategyInputSerializer,
        responses={201: StrategyOutputSerializer, 400: INVALID, 403: FORBIDDEN},
    )
    def create(self, request: Request) -> Response:
        """Create a strategy owned by the requesting user; 201 with it (``next_run_at`` set to
        the next slot when active), 400 with field errors, 403 for a live one without the
        ``strategies.trade_live`` permission or an active one over your limits
        (``STRATEGIES_MAX_ACTIVE_PER_USER``, ``SCHEDULE_MIN_INTERVAL_S``; staff are exempt)."""
        owner = cast(User, request.user)  # IsAuthenticated: never anonymous here
        serializer = StrategyInputSerializer(data=request.data, context={"owner": owner})
        serializer.is_valid(raise_exception=True)
        strategy = strategy_create(owner=owner, values=dict(serializer.validated_data))
        return self._output(strategy, status.HTTP_201_CREATED)

    @extend_schema(responses={200: StrategyOutputSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One strategy; 404 when it does not exist or is not yours."""
        return self._output(self.get_object())

    def _update(self, request: Request, partial: bool) -> Response:
        strategy = self.get_object()
        serializer = StrategyInputSerializer(strategy, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        strategy = strategy_update(
            strategy=strategy,
            actor=cast(User, request.user),
            values=dict(serializer.validated_data),
        )
        return self._output(strategy)

    @extend_schema(
        request=StrategyInputSerializer,
        responses={
            200: StrategyOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def update(self, request: Request, pk: str) -> Response:
        """Replace the configuration (every required field); ``next_run_at`` is recomputed
        when the schedule or active flag changed. 400 with field errors; 403 as for create."""
        return self._update(request, partial=False)

    @extend_schema(
        request=StrategyInputSerializer,
        responses={
            200: StrategyOutputSerializer,
            400: INVALID,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        """Change some fields; the result is validated as a whole. 400 with field errors; 403
        as for create."""
        return self._update(request, partial=True)

    @extend_schema(
        responses={
            204: None,
            404: NOT_FOUND,
            409: OpenApiResponse(
                description='It has runs: {"detail": "strategy <slug> has runs; deactivate it '
                'instead"}.'
            ),
        }
    )
    def destroy(self, request: Request, pk: str) -> Response:
        """Delete a strategy that never ran: 204; 409 when it has runs (their lineage stays)."""
        strategy_delete(strategy=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: StrategyOutputSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str) -> Response:
        """Activate (idempotent): the dispatcher runs it again from the next slot; 403 for a
        live strategy when you or its owner lack ``strategies.trade_live``, or when it would
        break its owner's limits (``STRATEGIES_MAX_ACTIVE_PER_USER``,
        ``SCHEDULE_MIN_INTERVAL_S``)."""
        strategy = strategy_activate(strategy=self.get_object(), actor=cast(User, request.user))
        return self._output(strategy)

    @extend_schema(request=None, responses={200: StrategyOutputSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str) -> Response:
        """Deactivate (idempotent): no more scheduled runs; ``next_run_at`` becomes null."""
        return self._output(strategy_deactivate(strategy=self.get_object()))

    @extend_schema(
        request=RunNowInputSerializer,
        responses={
            202: RunEnqueuedSerializer,
            400: INVALID,
            403: LIVE_FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str) -> Response:
        """Run now: a pending manual run as of ``as_of`` (default now) is created and sent to
        the ``runs`` queue after commit; 202 ``{"run_id": N, "status": "pending"}``; 403 for a
        live strategy when you or its owner lack ``strategies.trade_live`` (no run created)."""
        strategy = self.get_object()
        serializer = RunNowInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = strategy_run_create(
            strategy=strategy,
            actor=cast(User, request.user),
            as_of=serializer.validated_data.get("as_of"),
        )
        enqueue_runs([run.pk])  # sent once the run's row is committed
        body = RunEnqueuedSerializer({"run_id": run.pk, "status": run.status}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "count", int, description="How many slots, 1–50 (default 5).", required=False
            )
        ],
        responses={200: NextSlotsOutputSerializer, 400: INVALID, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="next-slots")
    def next_slots(self, request: Request, pk: str) -> Response:
        """The next ``count`` schedule slots after now, in UTC, from the strategy's cron
        expression and time zone (shown whether or not the strategy is active)."""
        strategy = self.get_object()
        serializer = NextSlotsInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        slots = strategy_next_slots(strategy=strategy, count=serializer.validated_data["count"])
        return Response(NextSlotsOutputSerializer({"slots": slots}).data)
