"""REST API routes of the analysis app (mounted under /api/v1/).

``prompt-templates/`` (GET list, POST a new version), ``prompt-templates/{id}/`` (GET),
``prompt-templates/{id}/preview/`` (POST) and ``prompt-templates/scores/`` (GET);
``llm-endpoints/`` (GET list, POST) and ``llm-endpoints/{id}/`` (GET, PUT, PATCH, DELETE);
``strategies/{id}/llm-budget/`` (GET: the strategy's LLM budgets and their use).
"""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from apps.analysis.api.budgets import StrategyLlmBudgetApi
from apps.analysis.api.endpoints import LlmEndpointViewSet
from apps.analysis.api.views import PromptTemplateViewSet

router = SimpleRouter()
router.register("prompt-templates", PromptTemplateViewSet, basename="prompt-template")
router.register("llm-endpoints", LlmEndpointViewSet, basename="llm-endpoint")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    path("strategies/<int:pk>/llm-budget/", StrategyLlmBudgetApi.as_view(), name="llm-budget"),
]
