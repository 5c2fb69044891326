"""REST API routes of the symbols app (mounted under /api/v1/).

``symbols/`` (GET list), ``symbols/{id}/`` (GET), ``symbols/{id}/refresh/`` (POST) and
``symbols/ibkr-search/?q=`` (GET).
"""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from apps.symbols.api.views import SymbolViewSet

router = SimpleRouter()
router.register("symbols", SymbolViewSet, basename="symbol")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
