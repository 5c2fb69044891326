"""The browser app's index is served for its own routes, never for the API or the admin."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_app_routes_get_the_index_and_the_api_keeps_its_own(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    for path in ("/", "/runs/12", "/orders"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert b"id=root" in page.content
    assert client.get("/api/v1/runs/").status_code == 401
    assert client.get("/admin/").status_code == 302


def test_without_a_build_the_app_says_how_to_build_it(
    client: Client, settings: Any, tmp_path: Path
) -> None:
    settings.FRONTEND_DIST = tmp_path / "missing"
    page = client.get("/runs/1")
    assert page.status_code == 404
    assert b"make frontend" in page.content
