"""REST API routes of the orders app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.orders.api.views import (
    FillListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListApi,
    PositionListApi,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("orders/", OrderListApi.as_view(), name="order-list"),
    path("orders/<int:pk>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:pk>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("fills/", FillListApi.as_view(), name="fill-list"),
    path("positions/", PositionListApi.as_view(), name="position-list"),
]
