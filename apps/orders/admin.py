"""Admin for orders, fills, position actions and the paper book; the "close" actions on
strategy positions and accounts (registered here: positions and trading sit below orders, so
their admins cannot reach ``position_actions``)."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.common.decimals import plain
from apps.common.errors import SibylError
from apps.orders.approvals import approval_approve, approval_reject
from apps.orders.cancellation import order_cancel
from apps.orders.models import (
    ApprovalStatus,
    Fill,
    Order,
    OrderApproval,
    OrderReason,
    PaperExecution,
    PaperOrder,
    PositionAction,
)
from apps.orders.position_actions import CloseRequest, position_close, positions_close_all
from apps.positions.admin import StrategyPositionAdmin
from apps.positions.models import PositionStatus, StrategyPosition
from apps.trading.admin import AccountAdmin
from apps.trading.models import Account


class FillInline(admin.TabularInline):
    model = Fill
    extra = 0
    can_delete = False
    readonly_fields = (
        "execution_id",
        "executed_at",
        "quantity",
        "price",
        "commission",
        "realized_pnl",
    )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "client_order_ref",
        "symbol",
        "role",
        "reason",
        "side",
        "order_type",
        "quantity",
        "limit_price",
        "stop_price",
        "status",
        "filled_quantity",
        "avg_fill_price",
        "commission",
        "realized_pnl",
        "flagged_at",
        "created_at",
    )
    list_filter = (
        "status",
        "role",
        "reason",
        "side",
        "order_type",
        "broker",
        ("flagged_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("client_order_ref", "broker_order_id", "symbol__symbol")
    list_select_related = ("symbol",)
    readonly_fields = [f.name for f in Order._meta.fields]
    inlines = [FillInline]
    actions = ("cancel_orders",)

    @admin.action(description="Cancel at the broker (working orders only)")
    def cancel_orders(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        """Cancel each selected working order at its broker; others are reported, not
        touched."""
        for order in queryset.order_by("pk"):
            try:
                cancelled = order_cancel(order=order)
            except SibylError as error:
                self.message_user(request, f"{order.client_order_ref}: {error}", messages.ERROR)
            else:
                text = f"{cancelled.client_order_ref}: {cancelled.status}"
                self.message_user(request, text, messages.SUCCESS)


@admin.register(OrderApproval)
class OrderApprovalAdmin(admin.ModelAdmin):
    """The approval queue: held brackets, who decided and why; approve (as requested) or
    reject (reason "rejected in the admin") the selected pending ones
    (``apps.orders.approvals``: the same checks and submit-once path as the API)."""

    list_display = (
        "id",
        "strategy",
        "parent",
        "status",
        "requested_quantity",
        "approved_quantity",
        "expires_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status",)
    search_fields = ("strategy__slug", "parent__client_order_ref")
    readonly_fields = tuple(f.name for f in OrderApproval._meta.fields)
    actions = ("approve_selected", "reject_selected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Approvals are made by the order step only."""
        return False

    def _decide(
        self, request: HttpRequest, queryset: QuerySet[OrderApproval], approve: bool
    ) -> None:
        assert isinstance(request.user, User)
        for approval in queryset.filter(status=ApprovalStatus.PENDING).order_by("pk"):
            try:
                if approve:
                    approval_approve(approval_id=approval.pk, user=request.user)
                else:
                    approval_reject(
                        approval_id=approval.pk, user=request.user, reason="rejected in the admin"
                    )
            except SibylError as error:
                self.message_user(request, f"approval {approval.pk}: {error}", messages.ERROR)
            else:
                done = "approved and sent" if approve else "rejected"
                self.message_user(request, f"approval {approval.pk}: {done}", messages.SUCCESS)

    @admin.action(description="Approve and send the selected pending approvals")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[OrderApproval]) -> None:
        """Approve each selected pending approval at its requested quantity and send it."""
        self._decide(request, queryset, approve=True)

    @admin.action(description="Reject the selected pending approvals")
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[OrderApproval]) -> None:
        """Reject each selected pending approval; its bracket is cancelled unsent."""
        self._decide(request, queryset, approve=False)


@admin.register(Fill)
class FillAdmin(admin.ModelAdmin):
    list_display = (
        "execution_id",
        "order",
        "executed_at",
        "quantity",
        "price",
        "commission",
        "realized_pnl",
    )
    search_fields = ("execution_id", "order__client_order_ref")
    list_select_related = ("order",)


@admin.register(PaperOrder)
class PaperOrderAdmin(admin.ModelAdmin):
    list_display = (
        "client_order_ref",
        "role",
        "side",
        "order_type",
        "quantity",
        "status",
        "accepted_at",
    )
    list_filter = ("status",)
    search_fields = ("client_order_ref",)


@admin.register(PaperExecution)
class PaperExecutionAdmin(admin.ModelAdmin):
    list_display = ("execution_id", "paper_order", "executed_at", "quantity", "price", "commission")
    list_select_related = ("paper_order",)


class OrderOfActionInline(admin.TabularInline):
    """The orders a position action sent (read-only, linking to each order)."""

    model = Order
    fk_name = "action"
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "client_order_ref",
        "role",
        "side",
        "order_type",
        "quantity",
        "limit_price",
        "status",
        "filled_quantity",
        "avg_fill_price",
    )
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: orders come from the action's service."""
        return False


@admin.register(PositionAction)
class PositionActionAdmin(admin.ModelAdmin):
    """Closes, reverses, scale-ins, trails, end-of-day and people's closes: read-only, with
    who asked, their note, what was done (``detail``) and the orders sent."""

    list_display = (
        "id",
        "kind",
        "status",
        "account",
        "strategy",
        "symbol",
        "strategy_position",
        "requested_by",
        "note",
        "market_time",
        "created_at",
        "finished_at",
    )
    list_filter = ("kind", "status", "account", "strategy")
    search_fields = ("note", "requested_by__username", "strategy__slug", "symbol__symbol")
    list_select_related = ("account", "strategy", "symbol", "requested_by")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in PositionAction._meta.fields]
    inlines = [OrderOfActionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Never: actions are recorded by the services that act."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: an action is a record."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: orders point at it."""
        return False


def _confirm(
    request: HttpRequest,
    queryset: QuerySet[Any],
    *,
    action: str,
    title: str,
    explanation: str,
    lines: list[str],
) -> TemplateResponse:
    """The intermediate page of a close action: what it will close, a note, Close/Keep."""
    return TemplateResponse(
        request,
        "admin/orders/close_confirmation.html",
        {
            **admin.site.each_context(request),
            "title": title,
            "explanation": explanation,
            "lines": lines,
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
            "action": action,
        },
    )


def _note(request: HttpRequest) -> str:
    """The note typed on the confirmation page, else ``admin: <username>``."""
    return request.POST.get("note", "").strip() or f"admin: {request.user.get_username()}"


def _position_line(position: StrategyPosition) -> str:
    return (
        f"#{position.pk} {position.account.name}: {position.strategy.slug} {position.side} "
        f"{plain(position.quantity)} {position.symbol.symbol} @ {plain(position.average_cost)}"
    )


admin.site.unregister(StrategyPosition)


@admin.register(StrategyPosition)
class ClosableStrategyPositionAdmin(StrategyPositionAdmin):
    """Strategy positions (read-only), with "Close selected positions"."""

    actions = ("close_positions",)

    @admin.action(description="Close selected positions")
    def close_positions(
        self, request: HttpRequest, queryset: QuerySet[StrategyPosition]
    ) -> TemplateResponse | None:
        """First a confirmation page with a note; then a person's close of each open selected
        position (``position_close``, market time now, requested by the admin user); one
        message per position."""
        positions = queryset.select_related("account", "strategy", "symbol").order_by("pk")
        if "apply" not in request.POST:
            return _confirm(
                request,
                queryset,
                action="close_positions",
                title="Close selected positions",
                explanation="Each open position's stop, target and entry remainder are "
                "cancelled at the broker, then one market exit is sent for what it holds.",
                lines=[_position_line(p) for p in positions if p.status == PositionStatus.OPEN],
            )
        user = request.user if isinstance(request.user, User) else None
        note = _note(request)
        for position in positions:
            close = CloseRequest(
                kind=OrderReason.PERSON,
                market_time=timezone.now(),
                requested_by=user,
                note=note,
            )
            try:
                action = position_close(position=position, request=close)
            except SibylError as error:
                self.message_user(request, f"position {position.pk}: {error}", messages.ERROR)
            else:
                text = f"position {position.pk}: close {action.pk} {action.status}"
                self.message_user(request, text, messages.SUCCESS)
        return None


admin.site.unregister(Account)


@admin.register(Account)
class ClosableAccountAdmin(AccountAdmin):
    """Trading accounts, with "Close all positions of the selected accounts"."""

    actions = ("close_all_positions",)

    @admin.action(description="Close all positions of the selected accounts")
    def close_all_positions(
        self, request: HttpRequest, queryset: QuerySet[Account]
    ) -> TemplateResponse | None:
        """First a confirmation page with a note; then a person's close-all of each selected
        account (``positions_close_all``: working entries cancelled, open positions closed,
        market time now, requested by the admin user); one message per account."""
        accounts = list(queryset.order_by("pk"))
        if "apply" not in request.POST:
            open_positions = StrategyPosition.objects.filter(
                account__in=accounts, status=PositionStatus.OPEN
            ).select_related("account", "strategy", "symbol")
            return _confirm(
                request,
                queryset,
                action="close_all_positions",
                title="Close all positions of the selected accounts",
                explanation="Every working entry that opened nothing yet is cancelled and every "
                "open strategy position is closed with a market exit.",
                lines=[_position_line(p) for p in open_positions.order_by("account", "pk")],
            )
        user = request.user if isinstance(request.user, User) else None
        note = _note(request)
        for account in accounts:
            report = positions_close_all(
                account=account,
                kind=OrderReason.PERSON,
                market_time=timezone.now(),
                requested_by=user,
                note=note,
            )
            text = (
                f"{account.name}: close-all {report.action.pk}: {len(report.closes)} closed, "
                f"{len(report.cancelled)} orders cancelled"
            )
            if report.errors:
                self.message_user(
                    request, f"{text}; failed: {'; '.join(report.errors)}", messages.ERROR
                )
            else:
                self.message_user(request, text, messages.SUCCESS)
        return None
