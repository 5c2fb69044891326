"""Content-Security-Policy (django-csp): every page the server renders carries a policy that
allows scripts from this origin only, and the pages it serves have no inline script the policy
would block. That the pages also *work* under it in a real browser is checked by the browser
test (tests/e2e/test_browser.py fails on any CSP violation the browser reports)."""

import re

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# A <script> element without a src attribute and not a JSON data block: inline code the
# policy refuses.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>\s*\S", re.IGNORECASE
)


def _directives(header: str) -> dict[str, list[str]]:
    """``"a x y; b z"`` → ``{"a": ["x", "y"], "b": ["z"]}``."""
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.fixture
def signed_in() -> Client:
    client = Client()
    client.force_login(UserFactory.create())
    return client


@pytest.mark.parametrize(
    "path", ["/", "/runs/42", "/api/docs/", "/admin/login/", "/api/v1/strategies/"]
)
@pytest.mark.parametrize("accept", ["*/*", "text/html"])
def test_every_page_carries_a_policy_without_inline_scripts(
    signed_in: Client, path: str, accept: str
) -> None:
    """``text/html`` on an API path is DRF's browsable API."""
    response = signed_in.get(path, HTTP_ACCEPT=accept)
    assert response.status_code in (200, 302), (path, response.status_code)
    directives = _directives(response["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    if response.status_code == 200 and "text/html" in response["Content-Type"]:
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), f"{path} has an inline script the policy blocks"


def test_swagger_ui_loads_its_settings_as_a_script_of_this_origin(signed_in: Client) -> None:
    """The split view: the page names ``?script`` as a script URL instead of inlining it."""
    html = signed_in.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*\?script[^"]*)"', html)
    assert script_url, html
    script = signed_in.get(script_url.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
