"""Admin for orders, fills and positions."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.common.errors import SibylError
from apps.orders.cancellation import order_cancel
from apps.orders.models import Fill, Order, PaperExecution, PaperOrder


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
