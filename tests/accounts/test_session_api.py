"""The browser app's session endpoint: sign in, who am I, sign out, and login CSRF."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import UserFactory

URL = "/api/v1/auth/session/"
PASSWORD = "correct horse battery"


@pytest.fixture
def trader(db: None) -> User:
    user = UserFactory.create(username="ada")
    user.set_password(PASSWORD)
    user.save()
    return user


def browser() -> APIClient:
    """A client that enforces CSRF like a browser session would."""
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client: APIClient) -> str:
    response = client.get(URL)
    return str(response.cookies["csrftoken"].value)


def test_anonymous_get_is_refused_and_sets_the_csrf_cookie(trader: User) -> None:
    client = browser()
    response = client.get(URL)
    assert response.status_code == 401
    assert "csrftoken" in response.cookies


def test_sign_in_then_who_am_i_then_sign_out(trader: User) -> None:
    client = browser()
    token = csrf_token(client)
    response = client.post(
        URL, {"username": "ada", "password": PASSWORD}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"id": trader.pk, "username": "ada", "is_staff": False}
    assert client.get(URL).json()["username"] == "ada"
    assert client.get("/api/v1/strategies/").status_code == 200

    token = str(client.cookies["csrftoken"].value)
    assert client.delete(URL, HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get(URL).status_code == 401
    assert client.get("/api/v1/strategies/").status_code == 401


def test_wrong_password_is_refused_without_a_session(trader: User) -> None:
    client = browser()
    token = csrf_token(client)
    response = client.post(
        URL, {"username": "ada", "password": "nope"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."
    assert client.get(URL).status_code == 401


def test_missing_fields_are_field_errors(trader: User) -> None:
    client = browser()
    token = csrf_token(client)
    response = client.post(URL, {"username": "ada"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert "password" in response.json()


def test_sign_in_attempts_are_throttled(trader: User, monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF binds the rates to the throttle class when it is imported
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    client = browser()
    token = csrf_token(client)
    wrong = {"username": "ada", "password": "nope"}
    codes = [
        client.post(URL, wrong, format="json", HTTP_X_CSRFTOKEN=token).status_code for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    # the right password is refused too until the window passes; looking does not count
    right = {"username": "ada", "password": PASSWORD}
    assert client.post(URL, right, format="json", HTTP_X_CSRFTOKEN=token).status_code == 429
    assert client.get(URL).status_code == 401
    token_codes = [
        APIClient().post("/api/v1/auth/token/", right, format="json").status_code for _ in range(4)
    ]
    assert token_codes == [429] * 4  # the same client address and scope


def test_a_token_for_scripts(trader: User) -> None:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "ada", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(URL).json()["username"] == "ada"


def test_the_app_page_sets_the_csrf_cookie(trader: User, settings: Any, tmp_path: Any) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    response = browser().get("/runs/5")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_sign_in_without_the_csrf_token_is_refused(trader: User) -> None:
    response = browser().post(URL, {"username": "ada", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
