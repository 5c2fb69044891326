"""API errors always answer in the API's JSON error shape, never Django's HTML pages."""

import base64
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient


def crafted_cursor(query: str) -> str:
    """A hand-made cursor: DRF cursors are base64 of a query string (``o=``, ``r=``, ``p=``)."""
    return base64.b64encode(query.encode()).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/runs/", "/api/v1/orders/"])
@pytest.mark.parametrize("query", ["p=abc", "p=1e9999", "p=99999999999999999999", "o=-1"])
def test_a_crafted_cursor_is_404_invalid_cursor(api: APIClient, url: str, query: str) -> None:
    response = api.get(url, {"cursor": crafted_cursor(query)})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Invalid cursor"}


@pytest.mark.django_db
def test_a_valid_position_cursor_still_pages(api: APIClient) -> None:
    response = api.get("/api/v1/runs/", {"cursor": crafted_cursor("p=5")})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_body_over_the_upload_limit_is_413_json(api: APIClient, settings: object) -> None:
    """Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default)."""
    body = json.dumps({"name": "big", "body": "x" * (5 * 1024 * 1024)})
    response = api.post("/api/v1/prompt-templates/", body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["detail"]


def test_a_form_body_over_the_upload_limit_is_413_json_with_a_session(trader: User) -> None:
    """A form-encoded body through session login (the browser's way in)."""
    client = Client()
    client.force_login(trader)
    response = client.post(
        "/api/v1/prompt-templates/",
        "name=big&body=" + "x" * (5 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "too large" in response.json()["detail"]


@pytest.mark.django_db
def test_an_unknown_api_path_is_404_json(api: APIClient) -> None:
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
