"""REST API routes of the lineage app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.lineage.api.views import ArtifactDownloadApi, RunDetailApi, RunListApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", RunListApi.as_view(), name="run-list"),
    path("runs/<int:pk>/", RunDetailApi.as_view(), name="run-detail"),
    path("artifacts/<int:pk>/", ArtifactDownloadApi.as_view(), name="artifact-download"),
]
