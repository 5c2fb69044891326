"""REST API routes of the composition layer (mounted under /api/v1/): the runs API."""

from django.urls import URLPattern, URLResolver, path

from apps.composition.api.views import RunDetailApi, RunListApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", RunListApi.as_view(), name="run-list"),
    path("runs/<int:pk>/", RunDetailApi.as_view(), name="run-detail"),
]
