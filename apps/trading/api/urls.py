"""REST API routes of the trading app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.trading.api.trading_state import AccountTradingStateApi, GlobalTradingStateApi
from apps.trading.api.views import AccountDetailApi, AccountListApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/", AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:pk>/", AccountDetailApi.as_view(), name="account-detail"),
    path(
        "accounts/<int:pk>/trading-state/",
        AccountTradingStateApi.as_view(),
        name="account-trading-state",
    ),
    path("trading-state/", GlobalTradingStateApi.as_view(), name="trading-state"),
]
