"""What every app's REST API shares: pagination, ownership, and one error shape.

Errors keep Django REST framework's standard shape: ``{"detail": "<message>"}`` for a request
that failed as a whole (401, 403, 404, 405, 409, …) and ``{"<field>": ["<message>", …]}`` for
invalid input (400); a domain error (``SibylError``) raised by a service becomes 400 with
``{"detail": "<message>", "code": "<ErrorClass>"}``.
"""

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import status
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
    """DRF's handler, plus: a ``SibylError`` from a service is a 400 with its message."""
    if isinstance(exc, SibylError):
        return Response(
            {"detail": str(exc), "code": type(exc).__name__}, status=status.HTTP_400_BAD_REQUEST
        )
    return drf_exception_handler(exc, context)
