"""Fixtures of the llm step's tests: retries fast enough for a test."""

from typing import Any

import pytest

from apps.analysis import llm_client


@pytest.fixture
def fast_retries(settings: Any) -> None:
    """Retries after 10 ms, three attempts at most, and no response format remembered from an
    earlier test."""
    settings.LLM_RETRY_INITIAL_S = 0.01
    settings.LLM_MAX_ATTEMPTS = 3
    llm_client._negotiated.clear()
