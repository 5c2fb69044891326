"""REST API routes of the lineage app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.lineage.api.views import ArtifactDownloadApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("artifacts/<int:pk>/", ArtifactDownloadApi.as_view(), name="artifact-download"),
]
