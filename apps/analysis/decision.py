"""The decision schema every analyst answers in, validated with pydantic.

Prices are in the instrument's currency; ``confidence`` is a probability in [0, 1]. The schema
only guarantees shape: whether prices make sense is the signal step's job.
"""

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from apps.analysis.llm_client import LlmResult
from apps.common.errors import SibylError


class DecisionParseError(SibylError):
    """The model's answer is not JSON, or misses or mistypes a field of the decision schema.

    ``raw_answer`` keeps the text that failed, so lineage can show it. ``llm_result`` is the
    language-model call that produced the answer (model, mode, tokens, latency in ms, attempts
    and their log, finish reason, estimated cost in USD) — made and paid for even though its
    answer failed — or None when no model call is behind it (``parse_decision`` on its own).
    """

    def __init__(
        self, message: str, *, raw_answer: str = "", llm_result: LlmResult | None = None
    ) -> None:
        super().__init__(message)
        self.raw_answer = raw_answer
        self.llm_result: LlmResult | None = llm_result


class ModelRefusalError(DecisionParseError):
    """The model declined to answer (OpenAI's ``message.refusal``); ``raw_answer`` holds the
    refusal text."""


REASONING_MAX_CHARS = 600
HORIZON_MAX_CHARS = 40


class Decision(BaseModel):
    """An analyst's answer: what to do, how sure, and where to enter, stop and take profit."""

    # The docstring above goes to models as the schema's description, so this note is a
    # comment: every number must be finite (NaN and ±Infinity, as tokens or strings, fail).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    action: Literal["BUY", "SELL", "HOLD"]
    confidence: float = Field(ge=0.0, le=1.0)
    entry: float | None = Field(description="Entry price; null for HOLD")
    stop_loss: float | None = Field(description="Protective stop price; null for HOLD")
    take_profit: float | None = Field(description="Profit target price; null for HOLD")
    horizon: str = Field(
        max_length=HORIZON_MAX_CHARS, description="Expected holding period, e.g. '5 bars'"
    )
    reasoning: str = Field(max_length=REASONING_MAX_CHARS, description="Why, in a few sentences")
    intent: Literal["open", "close", "reverse", "adjust"] | None = Field(
        default=None,
        description="For the position you hold: open (a new position), close it, reverse it, "
        "or adjust it (add to it, or move its stop with HOLD); null when unsure",
    )


@dataclass(frozen=True)
class ParsedDecision:
    """A validated decision and whether its reasoning was cut to ``REASONING_MAX_CHARS``."""

    decision: Decision
    reasoning_truncated: bool = False


# Numeric ranges stay in pydantic's validation but are not sent: strict json_schema endpoints
# refuse them. String lengths are sent: they keep small models from rambling inside a string
# until the token limit (llama.cpp builds them into its grammar; 4000 was too large for it).
UNSENT_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def _without_limits(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_limits(v) for k, v in node.items() if k not in UNSENT_KEYWORDS}
    if isinstance(node, list):
        return [_without_limits(item) for item in node]
    return node


def decision_json_schema() -> dict[str, Any]:
    """The JSON Schema sent to models: every field required, no extra fields, string lengths
    but no numeric ranges (those are checked on the answer by ``parse_decision``)."""
    schema: dict[str, Any] = _without_limits(Decision.model_json_schema())
    # Strict endpoints want every property required: ``intent`` is sent as required and
    # nullable, and stays optional when an answer is parsed (older prompts omit it).
    schema["required"] = list(schema["properties"])
    schema["properties"]["intent"].pop("default", None)
    return schema


# pydantic's wording for a non-finite float ("Input should be a finite number") hides the cause.
_MESSAGES = {"finite_number": "not a number (NaN and Infinity are not allowed)"}


def _cut_reasoning(payload: Any) -> bool:
    """Cut an over-long ``reasoning`` in place: a valid trade is worth more than the excess of
    its explanation. True when it was cut."""
    if not isinstance(payload, dict):
        return False
    reasoning = payload.get("reasoning")
    if not isinstance(reasoning, str) or len(reasoning) <= REASONING_MAX_CHARS:
        return False
    payload["reasoning"] = reasoning[:REASONING_MAX_CHARS]
    return True


def parse_decision(raw_answer: str) -> ParsedDecision:
    """Parse a model's raw text answer into a Decision.

    Accepts a JSON object, optionally inside a Markdown code fence. A ``reasoning`` longer than
    ``REASONING_MAX_CHARS`` characters is cut to that length (``reasoning_truncated``). Raises
    DecisionParseError naming every missing or invalid field; NaN and Infinity, as JSON tokens
    or as strings, are "not a number" for every numeric field.
    """
    text = raw_answer.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        payload = json.loads(text, strict=False)  # raw newlines inside strings are common
    except json.JSONDecodeError as error:
        raise DecisionParseError(
            f"the answer is not valid JSON: {error}", raw_answer=raw_answer
        ) from error
    truncated = _cut_reasoning(payload)
    try:
        return ParsedDecision(Decision.model_validate(payload), reasoning_truncated=truncated)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'answer'}: "
            f"{_MESSAGES.get(item['type'], item['msg'])}"
            for item in error.errors()
        )
        raise DecisionParseError(
            f"the answer does not match the decision schema: {problems}", raw_answer=raw_answer
        ) from error
