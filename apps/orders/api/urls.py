"""REST API routes of the orders app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.orders.api.approvals import (
    ApprovalApproveApi,
    ApprovalDetailApi,
    ApprovalLinkApi,
    ApprovalListApi,
    ApprovalRejectApi,
)
from apps.orders.api.views import (
    AccountCloseAllApi,
    AccountPortfolioApi,
    AccountPositionsApi,
    FillListApi,
    OrderCancelApi,
    OrderDetailApi,
    OrderListApi,
    PositionActionDetailApi,
    PositionActionListApi,
    PositionListApi,
    StrategyCloseAllApi,
    StrategyPositionCloseApi,
    StrategyPositionDetailApi,
    StrategyPositionListApi,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("approvals/", ApprovalListApi.as_view(), name="approval-list"),
    path("approvals/<int:pk>/", ApprovalDetailApi.as_view(), name="approval-detail"),
    path("approvals/<int:pk>/approve/", ApprovalApproveApi.as_view(), name="approval-approve"),
    path("approvals/<int:pk>/reject/", ApprovalRejectApi.as_view(), name="approval-reject"),
    path("approval-links/<str:token>/", ApprovalLinkApi.as_view(), name="approval-link"),
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
    path(
        "strategy-positions/<int:pk>/close/",
        StrategyPositionCloseApi.as_view(),
        name="strategy-position-close",
    ),
    path("accounts/<int:pk>/close-all/", AccountCloseAllApi.as_view(), name="account-close-all"),
    path(
        "strategies/<int:pk>/close-all/", StrategyCloseAllApi.as_view(), name="strategy-close-all"
    ),
    path("position-actions/", PositionActionListApi.as_view(), name="position-action-list"),
    path(
        "position-actions/<int:pk>/",
        PositionActionDetailApi.as_view(),
        name="position-action-detail",
    ),
]
