"""Backtests API: list, create (with its LLM cost estimate and ``max_cost`` refusal), detail,
progress, cancel, resume, the report (JSON and CSV), each variant's trades and the daily equity
and drawdown series; and replays (``apps.evaluation.replay``), created and estimated under
``replays/``, then read, cancelled and resumed as backtests.

A user sees and creates backtests only of the strategies they own (staff: every one), the
strategies API's scope; another user's backtest is a 404. Cancel and resume need the
strategy's owner or staff. A new or resumed backtest runs in parallel, one Celery task per
variant on the ``runs`` queue (``apps.evaluation.tasks.backtest_start``), sent after commit.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.common.api import IsOwnerOrStaff, owned_by
from apps.evaluation.api.serializers import (
    CANCELLABLE,
    RESUMABLE,
    BacktestInputSerializer,
    BacktestOutputSerializer,
    EstimateInputSerializer,
    EstimateOutputSerializer,
    ProgressOutputSerializer,
    ReplayEstimateOutputSerializer,
    ReplayInputSerializer,
    ReportOutputSerializer,
    ResumeInputSerializer,
    SeriesOutputSerializer,
    TradesOutputSerializer,
)
from apps.evaluation.api.validation import (
    replay_sources_check,
    replay_variant_specs,
    source_variant_for,
    strategy_for,
    variant_specs,
    window_slots,
)
from apps.evaluation.models import Backtest, BacktestVariant
from apps.evaluation.replay import replay_create, replay_plan
from apps.evaluation.report import backtest_report, report_csv
from apps.evaluation.services import (
    BacktestError,
    backtest_cancel,
    backtest_cost_estimate,
    backtest_create,
    backtest_remaining_cost_estimate,
)
from apps.evaluation.tasks import backtest_resume, backtest_start, task_queue_check
from apps.evaluation.trades import report_series, variant_trades

NOT_FOUND = OpenApiResponse(description="No such backtest, or not of a strategy of yours.")
INVALID = OpenApiResponse(
    description='Invalid input: {"<field>": ["<message>", …]}; or the estimate above '
    'max_cost: {"detail": "…", "code": "BacktestCostAboveLimit", "estimate_usd": "…", '
    '"max_cost_usd": "…"}.'
)
CONFLICT = OpenApiResponse(description="The backtest is not in a state that allows it.")
QUEUE_DOWN = OpenApiResponse(
    description="The task queue (Redis) is unreachable: nothing was created or changed; "
    '{"detail": "…", "code": "TaskQueueUnavailableError"}.'
)
COST_CODE = "BacktestCostAboveLimit"
# the route takes digits only (``lookup_value_regex``): an integer, as the other APIs' ids
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="A backtest id.")


@contextmanager
def _creation_errors() -> Iterator[None]:
    """Answer a backtest's or replay's creation refused by the service as a 400: a
    ``BacktestError`` under ``detail``, a model ``ValidationError`` (a prompt version the
    owner may not use) under ``variants``."""
    try:
        yield
    except BacktestError as error:
        raise ValidationError({"detail": str(error)}) from error
    except DjangoValidationError as error:
        raise ValidationError({"variants": error.messages}) from error


class BacktestFilter(filters.FilterSet):
    """``?strategy=<id>``, ``?status=pending|running|done|failed|cancelled`` and
    ``?kind=backtest|replay``."""

    class Meta:
        model = Backtest
        fields = ("strategy", "status", "kind")


def _cost_refusal(estimate: Decimal, limit: Decimal | None, confirm: bool) -> Response | None:
    """A 400 when ``estimate`` (USD) is above ``limit`` and the caller did not confirm."""
    if limit is None or estimate <= limit or confirm:
        return None
    return Response(
        {
            "detail": f"The estimated LLM cost {estimate:.6f} USD is above max_cost {limit} USD "
            "(no cache hits counted): send confirm=true to start anyway.",
            "code": COST_CODE,
            "estimate_usd": f"{estimate:.6f}",
            "max_cost_usd": str(limit),
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


@extend_schema(tags=["backtests"])
class BacktestViewSet(viewsets.GenericViewSet[Backtest]):
    """Backtests of the strategies the requesting user owns (staff: all), newest first."""

    permission_classes = [IsAuthenticated, IsOwnerOrStaff]
    serializer_class = BacktestOutputSerializer
    filterset_class = BacktestFilter
    lookup_value_regex = r"[0-9]+"  # an id; anything else is no route (404)

    def get_queryset(self) -> QuerySet[Backtest]:
        """Visible backtests with their strategy, symbol, creator and variants."""
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Backtest.objects.none()
        backtests = Backtest.objects.select_related(
            "strategy__symbol", "created_by", "source_variant"
        ).prefetch_related("variants__prompt_template")
        return owned_by(backtests, self.request, "strategy__owner")

    def owner_of(self, obj: Backtest) -> int | None:
        """The strategy owner's user id (``IsOwnerOrStaff``)."""
        return obj.strategy.owner_id

    def _output(self, backtest: Backtest, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=backtest.pk)
        return Response(BacktestOutputSerializer(fresh).data, status=code)

    @extend_schema(responses={200: BacktestOutputSerializer(many=True)})
    def list(self, request: Request) -> Response:
        """A page of backtests, newest first; filters ``strategy`` (id), ``status`` and
        ``kind``."""
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(BacktestOutputSerializer(page, many=True).data)

    @extend_schema(parameters=[ID], responses={200: BacktestOutputSerializer, 404: NOT_FOUND})
    def retrieve(self, request: Request, pk: str) -> Response:
        """One backtest with its variants' progress."""
        return Response(BacktestOutputSerializer(self.get_object()).data)

    def _checked(self, request: Request, serializer_class: type[Any]) -> dict[str, Any]:
        """The validated body with ``strategy``, ``specs`` and ``estimate`` (USD) added."""
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        strategy = strategy_for(request, values["strategy"])
        specs = variant_specs(strategy, values.get("variants") or [])
        slots = window_slots(strategy, values["start"], values["end"])
        estimate = backtest_cost_estimate(
            strategy=strategy, start=values["start"], end=values["end"], variants=specs
        )
        return values | {
            "strategy": strategy,
            "specs": specs,
            "slots": slots,
            "estimate": estimate,
        }

    @extend_schema(
        request=EstimateInputSerializer, responses={200: EstimateOutputSerializer, 400: INVALID}
    )
    @action(detail=False, methods=["post"])
    def estimate(self, request: Request) -> Response:
        """The estimated LLM cost (USD, no cache hit counted) of a backtest with this body,
        and its window's slots; nothing is created. 400 as for create (``max_cost`` and
        ``confirm`` are ignored here)."""
        values = self._checked(request, EstimateInputSerializer)
        body = {
            "estimate_usd": values["estimate"],
            "slots": values["slots"],
            "variants": max(1, len(values["specs"])),
        }
        return Response(EstimateOutputSerializer(body).data)

    @extend_schema(
        request=BacktestInputSerializer,
        responses={201: BacktestOutputSerializer, 400: INVALID, 503: QUEUE_DOWN},
    )
    def create(self, request: Request) -> Response:
        """Create a backtest of one of your strategies and start it (its variants in
        parallel on the ``runs`` queue); 201 with it. 400 for field errors: an unknown or
        another user's strategy, an end before the start, a window without schedule slots, an
        unknown prompt version or model; and when the estimated LLM cost is above
        ``max_cost`` (USD) and ``confirm`` is not true (body with ``estimate_usd``). 503 when the
        task queue is unreachable (nothing created)."""
        values = self._checked(request, BacktestInputSerializer)
        refusal = _cost_refusal(values["estimate"], values.get("max_cost"), values["confirm"])
        if refusal is not None:
            return refusal
        # before anything is recorded: a SibylError answered by the API does not roll back
        task_queue_check()
        with _creation_errors():
            backtest = backtest_create(
                strategy=values["strategy"],
                start=values["start"],
                end=values["end"],
                variants=values["specs"],
                created_by=cast(User, request.user),
                llm_cache=values["llm_cache"],
                anonymise=values["anonymise"],
            )
        backtest_start(backtest)
        return self._output(backtest, status.HTTP_201_CREATED)

    def _replay_checked(self, request: Request) -> dict[str, Any]:
        """The validated replay body with ``source`` (the source backtest variant or None),
        ``specs`` (``ReplaySpec``s) and ``plan`` (``ReplayPlan``) added; ValidationError (400)
        for an unknown or another user's strategy or backtest, a variant the backtest lacks, a
        bad variant row, a window with no source run."""
        serializer = ReplayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        source = None
        if values.get("source_backtest") is not None:
            source = source_variant_for(
                request, values["source_backtest"], values["source_position"]
            )
            strategy = source.backtest.strategy
        else:
            strategy = strategy_for(request, values["strategy"])
        specs = replay_variant_specs(strategy, values.get("variants") or [])
        try:
            plan = replay_plan(
                strategy=None if source else strategy,
                start=values.get("start"),
                end=values.get("end"),
                variants=specs,
                source_variant=source,
            )
        except BacktestError as error:
            raise ValidationError({"detail": str(error)}) from error
        replay_sources_check(plan, source)
        return values | {"source": source, "specs": specs, "plan": plan}

    @extend_schema(
        request=ReplayInputSerializer,
        responses={200: ReplayEstimateOutputSerializer, 400: INVALID},
    )
    @action(detail=False, methods=["post"], url_path="replays/estimate", url_name="replay-estimate")
    def replay_estimate(self, request: Request) -> Response:
        """The estimated LLM cost (USD, no cache hit counted; the original costs 0) of a
        replay with this body, its source runs, variants and window; nothing is created. 400
        as for a new replay (``max_cost`` and ``confirm`` are ignored here)."""
        plan = self._replay_checked(request)["plan"]
        body = {
            "estimate_usd": plan.estimate_usd,
            "sources": plan.sources,
            "variants": plan.variants,
            "start": plan.start,
            "end": plan.end,
        }
        return Response(ReplayEstimateOutputSerializer(body).data)

    @extend_schema(
        request=ReplayInputSerializer,
        responses={201: BacktestOutputSerializer, 400: INVALID, 503: QUEUE_DOWN},
    )
    @action(detail=False, methods=["post"], url_path="replays", url_name="replay")
    def replay(self, request: Request) -> Response:
        """Create a replay and start it (its variants in parallel on the ``runs`` queue);
        201 with it (``kind`` replay; variant 1 the original, answering with the source runs'
        recorded answers). Its source: ``strategy`` with ``start``/``end`` (the strategy's
        live runs with an as-of in the window), or ``source_backtest`` with
        ``source_position`` (that variant's runs). 400 for field errors: an unknown or another
        user's strategy or backtest, a variant the backtest lacks, an unknown prompt version,
        model or endpoint (or one the strategy's owner may not use), no source run in the
        window; and when the estimated LLM cost is above ``max_cost`` (USD) and ``confirm`` is
        not true (body with ``estimate_usd``). 503 when the task queue is unreachable (nothing
        created)."""
        values = self._replay_checked(request)
        plan = values["plan"]
        refusal = _cost_refusal(plan.estimate_usd, values.get("max_cost"), values["confirm"])
        if refusal is not None:
            return refusal
        task_queue_check()  # before anything is recorded, as for a backtest
        source = values["source"]
        with _creation_errors():
            replay = replay_create(
                strategy=None if source else plan.strategy,
                start=values.get("start"),
                end=values.get("end"),
                variants=values["specs"],
                source_variant=source,
                created_by=cast(User, request.user),
                llm_cache=values["llm_cache"],
            )
        backtest_start(replay)
        return self._output(replay, status.HTTP_201_CREATED)

    @extend_schema(parameters=[ID], responses={200: ProgressOutputSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str) -> Response:
        """The backtest's status and each variant's ``slots_done`` of ``slots_total`` (for
        polling while it runs)."""
        backtest = get_object_or_404(
            owned_by(Backtest.objects.all(), request, "strategy__owner"), pk=pk
        )
        variants = backtest.variants.values(
            "position", "label", "status", "error", "slots_done", "slots_total"
        )
        body = {
            "id": backtest.pk,
            "status": backtest.status,
            "error": backtest.error,
            "finished_at": backtest.finished_at,
            "variants": list(variants),
        }
        return Response(ProgressOutputSerializer(body).data)

    @extend_schema(
        parameters=[ID],
        request=None,
        responses={200: BacktestOutputSerializer, 403: None, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a pending or running backtest: its workers stop before their next slot.
        409 when it is done, failed or cancelled already."""
        backtest = self.get_object()
        if backtest.status not in CANCELLABLE:
            return Response(
                {"detail": f"The backtest is {backtest.status}: nothing to cancel."},
                status=status.HTTP_409_CONFLICT,
            )
        backtest_cancel(backtest=backtest)
        return self._output(backtest)

    @extend_schema(
        parameters=[ID],
        request=ResumeInputSerializer,
        responses={
            200: BacktestOutputSerializer,
            400: INVALID,
            403: None,
            404: NOT_FOUND,
            409: CONFLICT,
            503: QUEUE_DOWN,
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Resume a failed or cancelled backtest: the slots without a run yet run (no slot
        twice), its variants in parallel. 400 when the remaining slots' estimated LLM cost is
        above ``max_cost`` and ``confirm`` is not true; 409 unless failed or cancelled; 503 when
        the task queue is unreachable (nothing changed)."""
        backtest = self.get_object()
        serializer = ResumeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if backtest.status not in RESUMABLE:
            return Response(
                {
                    "detail": f"The backtest is {backtest.status}: only a failed or cancelled "
                    "backtest is resumed."
                },
                status=status.HTTP_409_CONFLICT,
            )
        refusal = _cost_refusal(
            backtest_remaining_cost_estimate(backtest),
            serializer.validated_data.get("max_cost"),
            serializer.validated_data["confirm"],
        )
        if refusal is not None:
            return refusal
        backtest_resume(backtest)
        backtest.refresh_from_db()
        return self._output(backtest)

    @extend_schema(parameters=[ID], responses={200: ReportOutputSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str) -> Response:
        """The report (``apps.evaluation.report``): one row per variant with its trades, P&L,
        risk and LLM usage, and the buy-and-hold reference row; so far while it runs."""
        return Response(backtest_report(self.get_object()))

    @extend_schema(
        parameters=[ID],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="The summary rows (one per variant, then buy-and-hold) as CSV.",
            ),
            404: NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"], url_path="report-csv")
    def report_csv(self, request: Request, pk: str) -> HttpResponse:
        """The report's summary rows as a CSV download ``backtest-<id>-<strategy>.csv``."""
        backtest = self.get_object()
        out = io.StringIO()
        report_csv(backtest_report(backtest), out)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        name = f"backtest-{backtest.pk}-{backtest.strategy.slug}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(
        parameters=[
            ID,
            OpenApiParameter(
                "position", int, OpenApiParameter.PATH, description="The variant: 1, 2, …"
            ),
        ],
        responses={200: TradesOutputSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path=r"variants/(?P<position>\d+)/trades")
    def trades(self, request: Request, pk: str, position: str) -> Response:
        """Variant ``position``'s trades in opening order: entry and exit time and price,
        quantity, side, P&L, R, and the runs that opened and closed each (their lineage)."""
        backtest = self.get_object()
        variant = get_object_or_404(
            BacktestVariant.objects.select_related("clone__symbol"),
            backtest=backtest,
            position=int(position),
        )
        body = {
            "backtest": backtest.pk,
            "variant": variant.position,
            "label": variant.label,
            "currency": variant.clone.symbol.currency,
            "trades": variant_trades(variant),
        }
        return Response(TradesOutputSerializer(body).data)

    @extend_schema(parameters=[ID], responses={200: SeriesOutputSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def series(self, request: Request, pk: str) -> Response:
        """Daily equity and drawdown (money and fraction of the running peak) of every variant
        and of buy-and-hold, over the window's trading days."""
        body = report_series(backtest_report(self.get_object()))
        return Response(SeriesOutputSerializer(body).data)
