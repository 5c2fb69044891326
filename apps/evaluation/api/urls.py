"""REST API routes of the backtests (mounted under /api/v1/).

``backtests/`` (GET list, POST create), ``backtests/estimate/`` (POST), ``backtests/replays/``
and ``backtests/replays/estimate/`` (POST: a new replay, its estimate), ``backtests/{id}/``,
``…/progress/``, ``…/report/``, ``…/report-csv/``, ``…/series/``,
``…/variants/{position}/trades/`` (GET) and ``…/cancel/``, ``…/resume/`` (POST).
"""

from django.urls import URLPattern, URLResolver
from rest_framework.routers import SimpleRouter

from apps.evaluation.api.views import BacktestViewSet

router = SimpleRouter()
router.register("backtests", BacktestViewSet, basename="backtest")

urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
