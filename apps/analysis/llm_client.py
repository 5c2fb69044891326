"""Calling an OpenAI-compatible chat-completions endpoint, the way production needs it.

- Retries (tenacity): 429, 5xx, timeouts and connection errors, with exponential backoff and
  jitter, honouring the server's ``Retry-After``; other 4xx are final.
- Structured answers: ``json_schema`` where the endpoint supports it, else ``json_object`` with
  the schema (llama.cpp's server), else plain text; ``auto`` negotiates in that order on a 400
  that names the response format, and remembers per (endpoint, model) what worked.
- A fallback model is tried once the main model's attempts are used up.
- The API key lives only in the SDK client; error texts are scrubbed of it.
"""

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import openai
from django.conf import settings
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from apps.common.errors import SibylError

MODES = ("json_schema", "json_object", "text")
_negotiated: dict[tuple[str, str], str] = {}
_negotiated_lock = threading.Lock()


class LlmCallError(SibylError):
    """Every attempt (and the fallback model) failed; the message is the provider's error."""

    def __init__(self, message: str, *, attempts: int, model: str, mode: str) -> None:
        super().__init__(message)
        self.attempts, self.model, self.mode = attempts, model, mode


@dataclass(frozen=True)
class ChatAsk:
    """What is asked of every model tried: the messages, sampling settings and the schema."""

    messages: list[dict[str, Any]]
    temperature: float
    max_tokens: int
    schema: dict[str, Any]


@dataclass
class LlmResult:
    """The raw answer text and what it took; tokens as the endpoint reported them."""

    text: str
    model: str
    mode: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    attempts: int = 0
    cost_usd: Decimal = Decimal(0)
    errors: list[str] = field(default_factory=list)


def is_retryable(error: BaseException) -> bool:
    """429, any 5xx (but a refused response format), timeouts and connection failures are worth
    another attempt."""
    if isinstance(error, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(error, openai.APIStatusError) and not _format_refused(error):
        return error.status_code == 429 or error.status_code >= 500
    return False


def retry_after_s(error: BaseException | None) -> float | None:
    """The server's ``Retry-After`` (seconds, or ``retry-after-ms``) if it sent one."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or {}
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000.0
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP date: fall back to backoff
    return None


def backoff_wait(state: RetryCallState) -> float:
    """Retry-After when given (capped at LLM_RETRY_MAX_S), else exponential with full jitter."""
    outcome = state.outcome
    hinted = retry_after_s(outcome.exception() if outcome else None)
    ceiling = float(settings.LLM_RETRY_MAX_S)
    if hinted is not None:
        return min(hinted, ceiling)
    exponential = float(settings.LLM_RETRY_INITIAL_S) * 2 ** (state.attempt_number - 1)
    return random.uniform(0, min(exponential, ceiling))


def cost_usd(
    model: str, prompt_tokens: int, completion_tokens: int, requested_model: str = ""
) -> Decimal:
    """Estimated cost from LLM_PRICES (USD per million input/output tokens); 0 if unpriced.

    Looked up by the model id the endpoint reported, then by the id that was asked for
    (OpenAI reports dated ids such as ``gpt-4o-mini-2024-07-18``), with any ``vendor/`` prefix.
    """
    prices: dict[str, dict[str, float]] = settings.LLM_PRICES
    candidates = [model, model.split("/")[-1], requested_model, requested_model.split("/")[-1]]
    price = next((prices[name] for name in candidates if name and name in prices), None)
    if not price:
        return Decimal(0)
    total = (
        Decimal(str(price.get("input", 0))) * prompt_tokens
        + Decimal(str(price.get("output", 0))) * completion_tokens
    ) / Decimal(1_000_000)
    return total.quantize(Decimal("0.000001"))


def _response_format(mode: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": "decision", "schema": schema, "strict": True},
        }
    if mode == "json_object":
        return {"type": "json_object", "schema": schema}
    return None


def _format_refused(error: BaseException) -> bool:
    """The endpoint refused the response format itself: 400/422, or the 500 that
    llama-cpp-python's server answers with its validation error ("response_format")."""
    if not isinstance(error, openai.APIStatusError) or error.status_code not in (400, 422, 500):
        return False
    text = str(error).lower()
    return "response_format" in text or (error.status_code != 500 and "schema" in text)


class LlmClient:
    """A chat-completions client for one endpoint; ``complete`` does retries and negotiation."""

    def __init__(self, *, base_url: str, api_key: str, timeout_s: float, max_attempts: int) -> None:
        self._base_url = base_url
        self._secret = api_key
        self._max_attempts = max_attempts
        # SDK retries off: tenacity does them, so attempts are counted and Retry-After honoured.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "unused", timeout=timeout_s, max_retries=0
        )

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def complete(
        self,
        *,
        messages: list[dict[str, Any]],
        model: str,
        temperature: float,
        max_tokens: int,
        mode: str,
        schema: dict[str, Any],
        fallback_model: str = "",
    ) -> LlmResult:
        """Ask ``model`` (then ``fallback_model``); raises LlmCallError when all fail."""
        ask = ChatAsk(messages, temperature, max_tokens, schema)
        attempts, errors = 0, []
        for candidate in [model] + ([fallback_model] if fallback_model else []):
            try:
                result = self._complete_model(ask, candidate, mode)
            except LlmCallError as error:
                attempts += error.attempts
                errors.append(f"{candidate}: {error}")
                continue
            result.attempts += attempts
            result.errors = errors
            return result
        raise LlmCallError("; ".join(errors), attempts=attempts, model=model, mode=mode)

    def _complete_model(self, ask: ChatAsk, model: str, mode: str) -> LlmResult:
        modes = self._modes(model, mode)
        attempts = 0
        for index, current in enumerate(modes):
            call = self._call(ask, model, current)
            try:
                result, used = self._with_retries(call)
            except openai.APIStatusError as error:
                attempts += 1
                if _format_refused(error) and index + 1 < len(modes):
                    continue  # negotiate down: json_schema → json_object → text
                raise LlmCallError(
                    self._describe(error), attempts=attempts, model=model, mode=current
                ) from error
            except _RetriesExhausted as exhausted:
                raise LlmCallError(
                    self._describe(exhausted.last),
                    model=model,
                    mode=current,
                    attempts=attempts + exhausted.attempts,
                ) from exhausted.last
            if mode == "auto":
                with _negotiated_lock:
                    _negotiated[(self._base_url, model)] = current
            result.attempts = attempts + used
            return result
        raise AssertionError("unreachable: the last mode either returns or raises")

    def _modes(self, model: str, mode: str) -> list[str]:
        if mode != "auto":
            return [mode]
        known = _negotiated.get((self._base_url, model))
        return [known] if known else list(MODES)

    def _describe(self, error: BaseException) -> str:
        status = getattr(error, "status_code", None)
        prefix = f"HTTP {status}: " if status else f"{type(error).__name__}: "
        return self._scrub(prefix + str(error))

    def _call(self, ask: ChatAsk, model: str, mode: str) -> Callable[[], LlmResult]:
        def call() -> LlmResult:
            started = time.perf_counter()
            extra: dict[str, Any] = {}
            response_format = _response_format(mode, ask.schema)
            if response_format is not None:
                extra["response_format"] = response_format
            completion = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=model,
                messages=ask.messages,  # type: ignore[arg-type]
                temperature=ask.temperature,
                max_tokens=ask.max_tokens,
                **extra,
            )
            latency_ms = (time.perf_counter() - started) * 1000.0
            choice = completion.choices[0] if completion.choices else None
            usage = completion.usage
            prompt = usage.prompt_tokens if usage else 0
            completion_tokens = usage.completion_tokens if usage else 0
            answered_model = completion.model or model
            return LlmResult(
                text=(choice.message.content or "") if choice else "",
                model=answered_model,
                mode=mode,
                prompt_tokens=prompt,
                completion_tokens=completion_tokens,
                latency_ms=latency_ms,
                cost_usd=cost_usd(answered_model, prompt, completion_tokens, requested_model=model),
            )

        return call

    def _with_retries(self, call: Callable[[], LlmResult]) -> tuple[LlmResult, int]:
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=backoff_wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        try:
            result = retrying(call)
            return result, int(retrying.statistics.get("attempt_number", 1))
        except openai.APIStatusError as error:
            if is_retryable(error):
                raise _RetriesExhausted(error, self._max_attempts) from error
            raise
        except openai.APIConnectionError as error:
            raise _RetriesExhausted(error, self._max_attempts) from error
        raise AssertionError("unreachable")


class _RetriesExhausted(Exception):
    def __init__(self, last: BaseException, attempts: int) -> None:
        super().__init__(str(last))
        self.last, self.attempts = last, attempts
