"""The rules an LLM endpoint's settings follow, shared by the model, the API and the admin."""

from typing import Any

from apps.common.outbound import OutboundUrlRefusedError, outbound_url_check

MODEL_ID_MAX_CHARS = 128


def _model_list_problem(value: Any) -> str:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and 0 < len(item.strip()) <= MODEL_ID_MAX_CHARS for item in value
    ):
        return f"a list of model ids (non-empty text, at most {MODEL_ID_MAX_CHARS} characters)"
    return ""


def _prices_problem(value: Any) -> str:
    message = 'a mapping {"model": {"input": USD/M tokens, "output": USD/M tokens}}, each >= 0'
    if not isinstance(value, dict):
        return message
    for model, price in value.items():
        if not isinstance(model, str) or not model or not isinstance(price, dict):
            return message
        if set(price) - {"input", "output"}:
            return message
        for amount in price.values():
            if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
                return message
    return ""


def llm_endpoint_problems(
    *, base_url: str, offered_models: Any, text_only_models: Any, prices: Any
) -> dict[str, list[str]]:
    """Check an endpoint's settings; output: field name -> messages (empty when valid).

    ``base_url`` must pass the outbound URL policy (``outbound_url_check``: http(s), a host
    whose addresses are global or allowlisted in LLM_ALLOWED_HOSTS); ``offered_models`` and
    ``text_only_models`` are lists of model ids; ``prices`` maps model ids to
    ``{"input": x, "output": y}`` (USD per million tokens, >= 0).
    """
    problems: dict[str, list[str]] = {}
    try:
        outbound_url_check(base_url)
    except OutboundUrlRefusedError as error:
        problems["base_url"] = [str(error)]
    for field, value in (
        ("offered_models", offered_models),
        ("text_only_models", text_only_models),
    ):
        if problem := _model_list_problem(value):
            problems[field] = [problem]
    if problem := _prices_problem(prices):
        problems["prices"] = [problem]
    return problems
