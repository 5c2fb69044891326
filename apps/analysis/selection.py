"""Which analyst a strategy gets, given the settings."""

from django.conf import settings

from apps.analysis.analysts import Analyst, BaselineAnalyst, OpenAIAnalyst


def analyst_for(*, analyst_kind: str) -> tuple[Analyst, str]:
    """Return the analyst and a note for lineage.

    ``openai`` needs ``LLM_BASE_URL``; without it the baseline rules answer and the note says so.
    """
    if analyst_kind == "openai" and settings.LLM_BASE_URL:
        return OpenAIAnalyst(
            base_url=settings.LLM_BASE_URL,
            api_key=settings.LLM_API_KEY,
            default_model=settings.LLM_MODEL,
            timeout_s=settings.LLM_TIMEOUT_S,
        ), ""
    if analyst_kind == "openai":
        return BaselineAnalyst(), "no LLM_BASE_URL configured: baseline rules used instead"
    return BaselineAnalyst(), ""
