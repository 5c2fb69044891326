"""REST API routes of the strategies app (mounted under /api/v1/).

``strategies/`` (GET list, POST create), ``strategies/{id}/`` (GET, PUT, PATCH, DELETE),
``strategies/{id}/activate/``, ``…/deactivate/``, ``…/run/`` (POST) and
``strategies/{id}/next-slots/`` (GET).
"""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from apps.strategies.api.views import StrategyViewSet

router = SimpleRouter()
router.register("strategies", StrategyViewSet, basename="strategy")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
