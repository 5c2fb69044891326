"""What a number of language-model calls of a strategy would cost, estimated before they are
made (for a backtest's ``--max-cost`` check, issue 16)."""

import math
from decimal import Decimal
from statistics import median_low

from django.conf import settings

from apps.analysis.analysts import SYSTEM_PROMPT
from apps.analysis.llm_client import cost_usd
from apps.analysis.models import LlmCall
from apps.strategies.models import Strategy

RECENT_CALLS = 20  # how many of the strategy's latest answered calls give its typical tokens
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text


def typical_tokens(*, strategy: Strategy) -> tuple[int, int]:
    """The strategy's typical (prompt, completion) tokens per call.

    The median (low) of its latest ``RECENT_CALLS`` calls that reported tokens (answered calls,
    cache hits included: they carry the original call's tokens). With none, the prompt is
    estimated as (system prompt + template body characters) / ``CHARS_PER_TOKEN``, rounded up
    — a lower bound, since the rendered prompt adds data and the chart image counts too — and
    the completion as the strategy's ``llm_max_tokens`` (an upper bound).
    """
    recent = list(
        LlmCall.objects.filter(strategy=strategy, prompt_tokens__gt=0)
        .order_by("-created_at", "-id")
        .values_list("prompt_tokens", "completion_tokens")[:RECENT_CALLS]
    )
    if recent:
        return median_low(r[0] for r in recent), median_low(r[1] for r in recent)
    characters = len(SYSTEM_PROMPT) + len(strategy.prompt_template.body)
    return math.ceil(characters / CHARS_PER_TOKEN), strategy.llm_max_tokens


def llm_cost_estimate(*, strategy: Strategy, slots: int) -> Decimal:
    """Estimated cost (USD, 6 decimals) of ``slots`` language-model calls of ``strategy``,
    with no answer from the cache: ``slots`` × its typical tokens (``typical_tokens``) priced
    by the strategy's model (``llm_model``, else ``LLM_MODEL``) in its endpoint's price table
    (else ``LLM_PRICES``; USD per million input/output tokens).

    0 for a rule-based analyst, and for a model the price table does not list. Raises
    ValueError for a negative ``slots``.
    """
    if slots < 0:
        raise ValueError(f"slots must be 0 or more, got {slots}")
    if strategy.analyst != "openai" or slots == 0:
        return Decimal(0)
    prompt_tokens, completion_tokens = typical_tokens(strategy=strategy)
    endpoint = strategy.llm_endpoint
    prices = (endpoint.prices if endpoint is not None else None) or settings.LLM_PRICES
    model = strategy.llm_model or settings.LLM_MODEL
    return cost_usd(model, prompt_tokens * slots, completion_tokens * slots, prices=prices)
