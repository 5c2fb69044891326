"""REST API routes of the signals app (mounted under /api/v1/)."""

from django.urls import URLPattern, URLResolver, path

from apps.signals.api.views import SignalDetailApi, SignalListApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("signals/", SignalListApi.as_view(), name="signal-list"),
    path("signals/<int:pk>/", SignalDetailApi.as_view(), name="signal-detail"),
]
