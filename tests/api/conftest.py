"""API fixtures: a trader, another trader and a staff member, each with a token client."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory


def token_client(user: User) -> APIClient:
    """An API client that authenticates as ``user`` with a real token header."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def trader(db: None) -> User:
    return UserFactory.create(username="trader")


@pytest.fixture
def other_trader(db: None) -> User:
    return UserFactory.create(username="other")


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(username="staff", is_staff=True)


@pytest.fixture
def api(trader: User) -> APIClient:
    """The trader's client."""
    return token_client(trader)


@pytest.fixture
def other_api(other_trader: User) -> APIClient:
    return token_client(other_trader)


@pytest.fixture
def staff_api(staff: User) -> APIClient:
    return token_client(staff)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def results(response: Any) -> list[dict[str, Any]]:
    """The rows of a paginated (page or cursor) list response."""
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body
