"""Root URL configuration: the admin console, the REST API with its OpenAPI schema and docs,
and the browser app (``config.spa``) for every other path."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.observability.views import metrics_view
from config.spa import app_index

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/auth/", include("rest_framework.urls")),
    # Prometheus' scrape target (apps.observability): token or network policy, else loopback.
    path("metrics", metrics_view, name="metrics"),
    # Everything else belongs to the browser app's own router.
    re_path(r"^(?!api/|admin/|static/|media/)(?P<path>.*)$", app_index, name="app"),
]
