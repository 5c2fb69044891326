"""REST API routes of the composition layer (mounted under /api/v1/): the runs API and the
performance API (strategies/{id}/performance/, accounts/{id}/performance/,
performance/prompts/)."""

from django.urls import URLPattern, URLResolver, path

from apps.composition.api.performance_views import (
    AccountPerformanceApi,
    PromptPerformanceApi,
    StrategyPerformanceApi,
)
from apps.composition.api.views import RunDetailApi, RunListApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", RunListApi.as_view(), name="run-list"),
    path("runs/<int:pk>/", RunDetailApi.as_view(), name="run-detail"),
    path(
        "strategies/<int:pk>/performance/",
        StrategyPerformanceApi.as_view(),
        name="strategy-performance",
    ),
    path(
        "accounts/<int:pk>/performance/",
        AccountPerformanceApi.as_view(),
        name="account-performance",
    ),
    path("performance/prompts/", PromptPerformanceApi.as_view(), name="prompt-performance"),
]
