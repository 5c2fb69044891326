"""Routes of the session API."""

from django.urls import path

from apps.accounts.api.views import SessionView, ThrottledObtainAuthToken

urlpatterns = [
    path("auth/session/", SessionView.as_view(), name="api-session"),
    path("auth/token/", ThrottledObtainAuthToken.as_view(), name="api-token"),
]
