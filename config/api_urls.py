"""The REST API, version 1 (mounted at /api/v1/): each app owns its routes; read models that
join several apps (the runs API) are routed from the composition layer."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.symbols.api.urls")),
    path("", include("apps.trading.api.urls")),
    path("", include("apps.strategies.api.urls")),
    path("", include("apps.analysis.api.urls")),
    path("", include("apps.composition.api.urls")),
    path("", include("apps.lineage.api.urls")),
    path("", include("apps.signals.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.evaluation.api.urls")),
    path("", include("apps.notifications.api.urls")),
]
