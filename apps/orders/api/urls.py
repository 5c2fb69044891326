"""REST API routes of the orders app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.orders.api.views import (
    AccountPortfolioApi,
    AccountPositionsApi,
    FillListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListApi,
    PositionListApi,
    StrategyPositionDetailApi,
    StrategyPositionListApi,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("orders/", OrderListApi.as_view(), name="order-list"),
    path("orders/<int:pk>/", OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:pk>/cancel/", OrderCancelApi.as_view(), name="order-cancel"),
    path("fills/", FillListApi.as_view(), name="fill-list"),
    path("positions/", PositionListApi.as_view(), name="position-list"),
    path("accounts/<int:pk>/positions/", AccountPositionsApi.as_view(), name="account-positions"),
    path("accounts/<int:pk>/portfolio/", AccountPortfolioApi.as_view(), name="account-portfolio"),
    path("strategy-positions/", StrategyPositionListApi.as_view(), name="strategy-position-list"),
    path(
        "strategy-positions/<int:pk>/",
        StrategyPositionDetailApi.as_view(),
        name="strategy-position-detail",
    ),
]
