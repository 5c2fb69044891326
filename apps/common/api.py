"""What every app's REST API shares: pagination, ownership, and one error shape.

Errors keep Django REST framework's standard shape: ``{"detail": "<message>"}`` for a request
that failed as a whole (401, 403, 404, 405, 409, …) and ``{"<field>": ["<message>", …]}`` for
invalid input (400); a domain error (``SibylError``) raised by a service is answered here, once,
with the status it declares (``http_status``: 400 unless 403, 409 or 503) and
``{"detail": "<message>", "code": "<ErrorClass>", …}``; a body over Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE`` is 413. ``ApiJsonErrorsMiddleware`` gives the same shape to the
errors Django answers itself under ``/api/`` (an unknown path, a server error).
"""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.errors import SibylError


class PagePagination(PageNumberPagination):
    """``?page=N`` (from 1) and ``?page_size=N`` (at most 200); 50 by default."""

    page_size_query_param = "page_size"
    max_page_size = 200


class NewestFirstCursorPagination(CursorPagination):
    """Opaque ``?cursor=`` pages, newest first by id (ids grow with creation time), stable
    while rows are added; ``?page_size=N`` (at most 200)."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    # PostgreSQL's bigint: a position outside it cannot be an id and would fail in the database.
    _ID_MIN, _ID_MAX = -(2**63), 2**63 - 1

    def decode_cursor(self, request: Request) -> Any:
        """DRF's decoding, plus: the position must be an id (an integer that fits a bigint).

        DRF checks the offset and direction but passes the position to the database filter
        as it came, so a hand-made ``p=abc`` was a 500. Returns DRF's ``Cursor`` or None.

        Raises ``NotFound`` ("Invalid cursor", DRF's own message and status for a bad cursor).
        """
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        try:
            position = int(cursor.position)
        except ValueError:
            raise NotFound(self.invalid_cursor_message) from None
        if not self._ID_MIN <= position <= self._ID_MAX:
            raise NotFound(self.invalid_cursor_message)
        return cursor


def is_staff(request: Request) -> bool:
    """Whether the requesting user is staff (sees and changes everything)."""
    return bool(request.user and request.user.is_staff)


def owned_by(queryset: QuerySet[Any], request: Request, owner_path: str) -> QuerySet[Any]:
    """``queryset`` cut to the rows whose ``owner_path`` (e.g. ``strategy__owner``) is the
    requesting user; staff see every row."""
    if is_staff(request):
        return queryset
    return queryset.filter(**{owner_path: request.user})


class IsOwnerOrStaff(BasePermission):
    """Writes need staff or ownership; ``owner_of(obj)`` on the view names the owner (a user
    id), so nested objects (an order) are judged by their strategy's owner."""

    def has_object_permission(self, request: Request, view: Any, obj: Model) -> bool:
        """Reads pass (querysets are already cut to what the user may see)."""
        if request.method in ("GET", "HEAD", "OPTIONS") or is_staff(request):
            return True
        owner_id = view.owner_of(obj)
        return owner_id is not None and owner_id == request.user.pk


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: a ``SibylError`` from a service is answered with its own
    ``http_status`` (400 unless it declares another) and ``api_body()``, and a
    request body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (Django's ``RequestDataTooBig``, which
    Django itself answers with an HTML 400) is a 413 (RFC 9110 §15.5.14, Content Too Large)."""
    if isinstance(exc, SibylError):
        return Response(exc.api_body(), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body too large."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return drf_exception_handler(exc, context)


class ApiJsonErrorsMiddleware:
    """Under ``/api/``, an error Django answered itself (an HTML page: an unknown path's 404,
    a server error's 500, a refused request's 400) becomes ``{"detail": "<reason>"}`` with the
    same status, so API clients always read JSON. DRF's own errors are JSON already and pass
    through unchanged.

    Input: each request and the response below this middleware; output: that response, or a
    ``JsonResponse`` with the same status code.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The response, with an HTML error under ``/api/`` turned into the JSON shape."""
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse(
                {"detail": self._detail(response.status_code)}, status=response.status_code
            )
        return response

    @staticmethod
    def _detail(status_code: int) -> str:
        # DRF's wording where it has one (its NotFound says "Not found."), else the reason phrase.
        if status_code == 404:
            return str(NotFound.default_detail)
        try:
            return f"{HTTPStatus(status_code).phrase}."
        except ValueError:
            return "Error."
