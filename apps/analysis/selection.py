"""Which analyst a strategy gets, given its settings, its LLM endpoint and the environment.

A strategy without an endpoint uses the operator's default endpoint (``LLM_BASE_URL`` with
``LLM_API_KEY``, the only URL that key is ever sent to). A strategy with an endpoint uses that
endpoint's URL, its own key (decrypted from the database) and its timeout, over an HTTP client
that enforces the outbound URL policy at every connection (``apps.common.outbound``). No
environment variable is ever read on a strategy's behalf.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

import openai
from django.conf import settings

from apps.analysis.analysts import Analyst, BaselineAnalyst, OpenAIAnalyst
from apps.analysis.endpoints import (
    LlmEndpointUnusableError,
    llm_endpoint_key,
    llm_endpoint_model_problems,
)
from apps.analysis.llm_client import LlmClient
from apps.common.outbound import outbound_url_check, pinned_http_client
from apps.strategies.models import Strategy


@dataclass(frozen=True)
class EndpointSettings:
    """Where a strategy's calls go: ``endpoint_id`` (None: the operator's default endpoint),
    the URL, the key for that URL only, the timeout (s), the models that take no image and
    the price table (USD per million tokens) the cost estimate uses."""

    endpoint_id: int | None
    name: str
    base_url: str
    api_key: str
    timeout_s: float
    text_only_models: tuple[str, ...]
    prices_json: str

    @property
    def is_operator_default(self) -> bool:
        """Whether this is the operator's default endpoint (settings, not a row)."""
        return self.endpoint_id is None


@lru_cache(maxsize=64)
def _client(settings_: EndpointSettings, max_attempts: int) -> LlmClient:
    # One client (one HTTP connection pool, one TLS context) per endpoint and settings per
    # process: building an SDK client costs more than a loopback call. The cache key is the
    # whole EndpointSettings (endpoint id, URL and key together), so a key can never be paired
    # with another endpoint's URL.
    if settings_.is_operator_default:
        # The operator's own endpoint is trusted: proxies from the environment apply as before;
        # redirects are not followed (the key must not travel to another origin).
        http_client = openai.DefaultHttpxClient(follow_redirects=False)
    else:
        http_client = pinned_http_client(timeout_s=settings_.timeout_s)
    return LlmClient(
        base_url=settings_.base_url,
        api_key=settings_.api_key,
        timeout_s=settings_.timeout_s,
        max_attempts=max_attempts,
        prices=json.loads(settings_.prices_json),
        http_client=http_client,
        endpoint_name=settings_.name,
    )


def endpoint_settings(*, strategy: Strategy) -> EndpointSettings | None:
    """The endpoint a strategy's ``openai`` analyst calls, or None when it names no endpoint
    and ``LLM_BASE_URL`` is empty.

    Raises LlmEndpointUnusableError when the strategy's endpoint is inactive, no longer usable
    by the strategy's owner, does not offer the strategy's model (or fallback model), or its
    key cannot be decrypted; OutboundUrlRefusedError when its URL is refused by the outbound
    URL policy now.
    """
    endpoint = strategy.llm_endpoint
    timeout_override = strategy.llm_timeout_s
    if endpoint is None:
        if not settings.LLM_BASE_URL:
            return None
        return EndpointSettings(
            endpoint_id=None,
            name="LLM_BASE_URL",
            base_url=settings.LLM_BASE_URL,
            api_key=settings.LLM_API_KEY,
            timeout_s=timeout_override or settings.LLM_TIMEOUT_S,
            text_only_models=tuple(settings.LLM_TEXT_ONLY_MODELS),
            prices_json=json.dumps(settings.LLM_PRICES, sort_keys=True),
        )
    name = endpoint.name
    if not endpoint.is_active:
        raise LlmEndpointUnusableError(
            f"LLM endpoint {name!r} is inactive: review its URL and key, then activate it, or "
            "choose another endpoint"
        )
    if endpoint.owner_id is not None and endpoint.owner_id != strategy.owner_id:
        raise LlmEndpointUnusableError(
            "the strategy's LLM endpoint belongs to another user; choose another endpoint"
        )
    problems = llm_endpoint_model_problems(
        endpoint=endpoint, model=strategy.llm_model, fallback_model=strategy.llm_fallback_model
    )
    if problems:
        raise LlmEndpointUnusableError(next(iter(problems.values()))[0])
    outbound_url_check(endpoint.base_url)
    return EndpointSettings(
        endpoint_id=endpoint.pk,
        name=name,
        base_url=endpoint.base_url,
        api_key=llm_endpoint_key(endpoint=endpoint),
        timeout_s=timeout_override or endpoint.timeout_s or settings.LLM_TIMEOUT_S,
        text_only_models=tuple(endpoint.text_only_models or []),
        prices_json=json.dumps(endpoint.prices or settings.LLM_PRICES, sort_keys=True),
    )


def analyst_for(*, strategy: Strategy) -> tuple[Analyst, str]:
    """Return the analyst and a note for lineage.

    ``openai`` needs an endpoint (the strategy's ``llm_endpoint``, or else the operator's
    ``LLM_BASE_URL``); without one the baseline rules answer and the note says so.

    Raises LlmEndpointUnusableError or OutboundUrlRefusedError (``endpoint_settings``): the
    run fails with that message; the key is never in it.
    """
    if strategy.analyst != "openai":
        return BaselineAnalyst(), ""
    chosen = endpoint_settings(strategy=strategy)
    if chosen is None:
        return BaselineAnalyst(), "no LLM endpoint configured: baseline rules used instead"
    client = _client(chosen, settings.LLM_MAX_ATTEMPTS)
    return OpenAIAnalyst(client=client, default_model=settings.LLM_MODEL), ""


def text_only_models(*, strategy: Strategy) -> tuple[str, ...]:
    """Models that take no image on the strategy's endpoint: the endpoint's own list, or
    ``LLM_TEXT_ONLY_MODELS`` for the operator's default endpoint."""
    if strategy.llm_endpoint is not None:
        return tuple(strategy.llm_endpoint.text_only_models or [])
    return tuple(settings.LLM_TEXT_ONLY_MODELS)
