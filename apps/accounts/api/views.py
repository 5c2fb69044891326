"""Signing in: the browser app's session (who is signed in, sign in, sign out) and tokens for
scripts.

Scripts use tokens (``/api/v1/auth/token/``); the browser uses Django's session cookie, which
this endpoint sets. Signing in is CSRF-protected like any other browser write: the app's page
sets the ``csrftoken`` cookie, and the app sends it back as ``X-CSRFToken``. Both sign-in
endpoints are throttled per client address (``login`` rate, 429 beyond it).
"""

from typing import Any

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.api.serializers import CurrentUserSerializer, LoginInputSerializer


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SessionView(APIView):
    """``GET``: the signed-in user (401 when nobody is). ``POST``: sign in with a username and
    password (400 for missing fields, 401 for wrong credentials or an inactive user, 403
    without the CSRF token, 429 when attempts come too fast). ``DELETE``: sign out (204, also
    when nobody was signed in)."""

    permission_classes = [AllowAny]
    throttle_scope = "login"

    def get_throttles(self) -> list[BaseThrottle]:
        """Only sign-in attempts count against the ``login`` rate."""
        return [ScopedRateThrottle()] if self.request.method == "POST" else []

    @extend_schema(responses={200: CurrentUserSerializer}, operation_id="auth_session_retrieve")
    def get(self, request: Request) -> Response:
        """The current user, or 401 ``{"detail": "Not signed in."}`` for an anonymous browser."""
        if not request.user.is_authenticated:
            raise AuthenticationFailed("Not signed in.")
        return Response(CurrentUserSerializer(request.user).data)

    @extend_schema(
        request=LoginInputSerializer,
        responses={200: CurrentUserSerializer},
        operation_id="auth_session_create",
    )
    def post(self, request: Request) -> Response:
        """Check the credentials and start a session; rotates the CSRF token (Django login).

        Raises ``PermissionDenied`` (403) without a valid CSRF token: a page elsewhere must
        not sign a browser in (login CSRF)."""
        SessionAuthentication().enforce_csrf(request)
        given = LoginInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=given.validated_data["username"],
            password=given.validated_data["password"],
        )
        if user is None:
            raise AuthenticationFailed("Wrong username or password.")
        login(request._request, user)
        return Response(CurrentUserSerializer(user).data)

    @extend_schema(responses={204: None}, operation_id="auth_session_destroy")
    def delete(self, request: Request, *args: Any) -> Response:
        """End the session."""
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ThrottledObtainAuthToken(ObtainAuthToken):
    """``POST /auth/token/`` (username, password → ``{"token"}``), throttled like the session
    sign-in."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"
