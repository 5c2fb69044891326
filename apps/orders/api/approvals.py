"""Approval queue API (openspec operations spec, "Approval queue").

- ``GET /approvals/`` (filters ``status``, ``strategy``, ``account``, ``run``): approvals of the
  accounts the caller may trade (owner, member; staff: every one), newest first.
- ``GET /approvals/{id}/``: one approval with its bracket and the run's lineage summary
  beside it (chart, prompt and answer artifacts, the signal's reasoning and checks, size,
  risk and reward).
- ``POST /approvals/{id}/approve/`` (``{"quantity": N}`` optional, lower only) and
  ``POST /approvals/{id}/reject/`` (``{"reason": "…"}``).
- ``GET /approval-links/{token}/`` shows the approval a signed notification link points at
  and the decision it offers; ``POST`` to the same address (logged in) makes that decision.
  A GET never acts.

Another account's approval is a 404; a live strategy's approval needs the
``strategies.trade_live`` permission to decide (403).
"""

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apps.common.api import NewestFirstCursorPagination
from apps.common.api_fields import choice_field
from apps.lineage.models import Artifact
from apps.orders.api.selectors import order_list
from apps.orders.api.serializers import OrderListOutputSerializer
from apps.orders.approvals import (
    approval_approve,
    approval_link_read,
    approval_reject,
    approvals_visible_to,
)
from apps.orders.models import ApprovalStatus, Order, OrderApproval

# The artifacts of a run an approver looks at, by kind (``apps.pipeline.steps``).
LINEAGE_ARTIFACTS = ("chart_png", "prompt", "raw_answer")


class ApprovalFilter(django_filters.FilterSet):
    """``status`` (repeatable), ``strategy``, ``account`` and ``run`` (ids)."""

    status = django_filters.MultipleChoiceFilter(choices=ApprovalStatus.choices)
    strategy = django_filters.NumberFilter(field_name="strategy_id")
    account = django_filters.NumberFilter(field_name="account_id")
    run = django_filters.NumberFilter(field_name="run_id")

    class Meta:
        model = OrderApproval
        fields = ["status", "strategy", "account", "run"]


class ApprovalOutputSerializer(serializers.ModelSerializer[OrderApproval]):
    """An approval: the held bracket's entry (``parent``), its run, strategy and account, the
    requested and approved quantities (units), status, expiry (UTC), why it waits, the
    rejection or expiry ``reason``, and who decided when (``decided_by`` is a username)."""

    status = choice_field(ApprovalStatus, "ApprovalStatusEnum")
    strategy_name = serializers.CharField(source="strategy.name", read_only=True)
    symbol = serializers.CharField(source="parent.symbol.symbol", read_only=True)
    side = serializers.CharField(source="parent.side", read_only=True)
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = OrderApproval
        fields = [
            "id",
            "parent",
            "run",
            "strategy",
            "strategy_name",
            "account",
            "symbol",
            "side",
            "status",
            "requested_quantity",
            "approved_quantity",
            "expires_at",
            "why",
            "reason",
            "decided_by",
            "decided_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_decided_by(self, approval: OrderApproval) -> str | None:
        """The username of who approved or rejected it (None: undecided, or expired)."""
        return approval.decided_by.get_username() if approval.decided_by else None


class LineageArtifactSerializer(serializers.Serializer[Artifact]):
    """A run artifact an approver opens: its kind and download address."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    url = serializers.URLField()


class LineageSummarySerializer(serializers.Serializer[dict[str, Any]]):
    """What the run saw and decided: the chart, prompt and answer artifacts; the signal's
    action, prices (symbol currency), confidence (0–1), reward/risk, reasoning and checks;
    the size (units) and the money at risk and to gain at the requested size
    (|entry − stop| × quantity, |target − entry| × quantity)."""

    artifacts = LineageArtifactSerializer(many=True)
    action = serializers.CharField(allow_null=True)
    entry = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    stop_loss = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    take_profit = serializers.DecimalField(max_digits=20, decimal_places=8, allow_null=True)
    confidence = serializers.DecimalField(max_digits=4, decimal_places=3, allow_null=True)
    reward_risk = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    reasoning = serializers.CharField()
    checks = serializers.ListField(child=serializers.DictField())
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    risk = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)
    reward = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)


class ApprovalDetailOutputSerializer(ApprovalOutputSerializer):
    """An approval with its bracket's orders and the run's lineage summary beside it."""

    orders = serializers.SerializerMethodField()
    lineage = serializers.SerializerMethodField()

    class Meta(ApprovalOutputSerializer.Meta):
        fields = [*ApprovalOutputSerializer.Meta.fields, "orders", "lineage"]
        read_only_fields = fields

    @extend_schema_field(OrderListOutputSerializer(many=True))
    def get_orders(self, approval: OrderApproval) -> list[dict[str, Any]]:
        """The bracket's entry, take-profit and stop-loss as the orders list shows them."""
        orders = Order.objects.filter(pk=approval.parent_id) | Order.objects.filter(
            parent_id=approval.parent_id
        )
        serializer = OrderListOutputSerializer(
            _order_rows(orders.order_by("pk")), many=True, context=self.context
        )
        return list(serializer.data)

    @extend_schema_field(LineageSummarySerializer)
    def get_lineage(self, approval: OrderApproval) -> dict[str, Any]:
        """The run's lineage summary (``lineage_summary``)."""
        return dict(
            LineageSummarySerializer(lineage_summary(approval, self.context.get("request"))).data
        )


def _order_rows(orders: QuerySet[Order]) -> QuerySet[Order]:
    """The orders with what the orders list annotates (fills count, …)."""
    return order_list().filter(pk__in=orders.values("pk")).order_by("pk")


def lineage_summary(approval: OrderApproval, request: Request | None) -> dict[str, Any]:
    """The approval's run as an approver reads it (see ``LineageSummarySerializer``)."""
    artifacts = (
        Artifact.objects.filter(step__run_id=approval.run_id, kind__in=LINEAGE_ARTIFACTS)
        .order_by("step__sequence", "pk")
        .values("pk", "kind")
    )
    signal = approval.parent.signal
    quantity = approval.approved_quantity or approval.requested_quantity
    entry = signal.entry if signal else None
    stop = signal.stop_loss if signal else None
    target = signal.take_profit if signal else None
    return {
        "artifacts": [
            {
                "id": row["pk"],
                "kind": row["kind"],
                "url": reverse("artifact-download", kwargs={"pk": row["pk"]}, request=request),
            }
            for row in artifacts
        ],
        "action": signal.action if signal else None,
        "entry": entry,
        "stop_loss": stop,
        "take_profit": target,
        "confidence": signal.confidence if signal else None,
        "reward_risk": signal.reward_risk if signal else None,
        "reasoning": signal.reasoning if signal else "",
        "checks": signal.checks if signal else [],
        "quantity": quantity,
        "risk": abs(entry - stop) * quantity if entry is not None and stop is not None else None,
        "reward": (
            abs(target - entry) * quantity if entry is not None and target is not None else None
        ),
    }


class ApproveInputSerializer(serializers.Serializer[dict[str, Any]]):
    """``quantity``: the approved size in whole units, at most the requested (omit: as
    requested)."""

    quantity = serializers.DecimalField(
        max_digits=20, decimal_places=4, required=False, min_value=Decimal("1")
    )


class RejectInputSerializer(serializers.Serializer[dict[str, Any]]):
    """``reason``: why the bracket is not sent (kept on the approval and its orders)."""

    reason = serializers.CharField(max_length=2000)


class ApprovalLinkOutputSerializer(serializers.Serializer[dict[str, Any]]):
    """What a signed link offers: ``decision`` (approve or reject) on ``approval``; POST to
    the same address to make it."""

    decision = serializers.CharField()
    approval = ApprovalDetailOutputSerializer()


def _visible(request: Request) -> QuerySet[OrderApproval]:
    return approvals_visible_to(request.user).select_related(
        "strategy", "decided_by", "parent__symbol", "parent__signal"
    )


@extend_schema(tags=["approvals"], responses={200: ApprovalOutputSerializer(many=True)})
class ApprovalListApi(generics.ListAPIView[OrderApproval]):
    """``GET /approvals/``: approvals the caller may decide or read, newest first."""

    serializer_class = ApprovalOutputSerializer
    filterset_class = ApprovalFilter
    pagination_class = NewestFirstCursorPagination

    def get_queryset(self) -> QuerySet[OrderApproval]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return OrderApproval.objects.none()
        return _visible(self.request)


@extend_schema(tags=["approvals"], responses={200: ApprovalDetailOutputSerializer, 404: None})
class ApprovalDetailApi(generics.RetrieveAPIView[OrderApproval]):
    """``GET /approvals/{id}/``: one approval, its bracket and the run's lineage summary."""

    serializer_class = ApprovalDetailOutputSerializer

    def get_queryset(self) -> QuerySet[OrderApproval]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return OrderApproval.objects.none()
        return _visible(self.request)


def _approve(request: Request, approval: OrderApproval, data: Any) -> Response:
    serializer = ApproveInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    outcome = approval_approve(
        approval_id=approval.pk,
        user=request.user,  # type: ignore[arg-type]
        quantity=serializer.validated_data.get("quantity"),
    )
    fresh = _visible(request).get(pk=outcome.approval.pk)
    return Response(ApprovalDetailOutputSerializer(fresh, context={"request": request}).data)


def _reject(request: Request, approval: OrderApproval, data: Any) -> Response:
    serializer = RejectInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    approval_reject(
        approval_id=approval.pk,
        user=request.user,  # type: ignore[arg-type]
        reason=serializer.validated_data["reason"],
    )
    fresh = _visible(request).get(pk=approval.pk)
    return Response(ApprovalDetailOutputSerializer(fresh, context={"request": request}).data)


@extend_schema(
    tags=["approvals"],
    request=ApproveInputSerializer,
    responses={200: ApprovalDetailOutputSerializer, 403: None, 404: None, 409: None},
)
class ApprovalApproveApi(APIView):
    """``POST /approvals/{id}/approve/``: approve (quantity lower only) and send the bracket
    once; approving an approved one again sends nothing (200, as it is). 409 when rejected,
    expired or the kill switch refuses orders (the reason in ``detail``)."""

    def post(self, request: Request, pk: int) -> Response:
        """Approve approval ``pk``."""
        return _approve(request, get_object_or_404(_visible(request), pk=pk), request.data)


@extend_schema(
    tags=["approvals"],
    request=RejectInputSerializer,
    responses={200: ApprovalDetailOutputSerializer, 403: None, 404: None, 409: None},
)
class ApprovalRejectApi(APIView):
    """``POST /approvals/{id}/reject/``: reject with a reason; the bracket is cancelled
    unsent. 409 when it is no longer pending."""

    def post(self, request: Request, pk: int) -> Response:
        """Reject approval ``pk``."""
        return _reject(request, get_object_or_404(_visible(request), pk=pk), request.data)


@extend_schema(
    tags=["approvals"],
    request=ApproveInputSerializer,
    responses={200: ApprovalLinkOutputSerializer, 400: None, 403: None, 404: None, 409: None},
)
class ApprovalLinkApi(APIView):
    """``/approval-links/{token}/``: a signed notification link (``approval_links``). GET
    shows the approval and the decision the link offers, and changes nothing; POST (logged
    in, allowed to decide it) makes that decision — approve (optional ``quantity``) or reject
    (``reason``, default "rejected from a notification link"). An invalid or expired link is
    400; an approval the caller may not see is 404."""

    def _resolve(self, request: Request, token: str) -> tuple[str, OrderApproval]:
        link = approval_link_read(token)
        return link.decision, get_object_or_404(_visible(request), pk=link.approval_id)

    def get(self, request: Request, token: str) -> Response:
        """Show the approval the link points at; nothing is decided."""
        decision, approval = self._resolve(request, token)
        body = {
            "decision": decision,
            "approval": ApprovalDetailOutputSerializer(approval, context={"request": request}).data,
        }
        return Response(body)

    def post(self, request: Request, token: str) -> Response:
        """Make the decision the link offers."""
        decision, approval = self._resolve(request, token)
        if decision == "approve":
            response = _approve(request, approval, request.data)
        else:
            given = request.data if isinstance(request.data, dict) else {}
            data = {"reason": "rejected from a notification link", **given}
            response = _reject(request, approval, data)
        return Response({"decision": decision, "approval": response.data})
