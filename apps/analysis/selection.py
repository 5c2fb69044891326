"""Which analyst a strategy gets, given its settings and the environment."""

import os
from functools import lru_cache

from django.conf import settings

from apps.analysis.analysts import Analyst, BaselineAnalyst, OpenAIAnalyst
from apps.analysis.llm_client import LlmClient
from apps.strategies.models import Strategy


@lru_cache(maxsize=64)
def _client(base_url: str, api_key: str, timeout_s: float, max_attempts: int) -> LlmClient:
    # One client (one HTTP connection pool, one TLS context) per endpoint and settings per
    # process: building an SDK client costs more than a loopback call.
    return LlmClient(
        base_url=base_url, api_key=api_key, timeout_s=timeout_s, max_attempts=max_attempts
    )


def analyst_for(*, strategy: Strategy) -> tuple[Analyst, str]:
    """Return the analyst and a note for lineage.

    ``openai`` needs an endpoint (the strategy's ``llm_base_url`` or ``LLM_BASE_URL``); without
    one the baseline rules answer and the note says so. The key is read from the environment
    variable the strategy names (``llm_api_key_env``) or ``LLM_API_KEY``; it is never stored.
    """
    base_url = strategy.llm_base_url or settings.LLM_BASE_URL
    if strategy.analyst != "openai":
        return BaselineAnalyst(), ""
    if not base_url:
        return BaselineAnalyst(), "no LLM endpoint configured: baseline rules used instead"
    api_key = (
        os.environ.get(strategy.llm_api_key_env, "")
        if strategy.llm_api_key_env
        else settings.LLM_API_KEY
    )
    client = _client(
        base_url,
        api_key,
        strategy.llm_timeout_s or settings.LLM_TIMEOUT_S,
        settings.LLM_MAX_ATTEMPTS,
    )
    return OpenAIAnalyst(client=client, default_model=settings.LLM_MODEL), ""
