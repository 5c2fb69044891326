"""Which analyst a strategy gets, given its settings and the environment."""

import os

from django.conf import settings

from apps.analysis.analysts import Analyst, BaselineAnalyst, OpenAIAnalyst
from apps.analysis.llm_client import LlmClient
from apps.strategies.models import Strategy


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
    client = LlmClient(
        base_url=base_url,
        api_key=api_key,
        timeout_s=strategy.llm_timeout_s or settings.LLM_TIMEOUT_S,
        max_attempts=settings.LLM_MAX_ATTEMPTS,
    )
    return OpenAIAnalyst(client=client, default_model=settings.LLM_MODEL), ""
