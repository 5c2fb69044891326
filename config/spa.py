"""The browser app (``frontend/``, built by Vite into ``FRONTEND_DIST``) served by Django.

Its assets are served by WhiteNoise from ``FRONTEND_DIST`` at the site root
(``WHITENOISE_ROOT``); every other path the app routes itself (``/runs/12``, ``/orders``)
answers its ``index.html``, so a reload or a shared link opens the right page.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
def app_index(request: HttpRequest, path: str = "") -> HttpResponse:
    """``index.html`` of the built app (setting the ``csrftoken`` cookie its writes send back);
    404 with how to build it when it is missing."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.is_file():
        return HttpResponseNotFound(
            "The browser app is not built: run `make frontend` (or `make serve`).",
            content_type="text/plain",
        )
    return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")
