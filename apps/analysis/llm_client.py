"""Calling an OpenAI-compatible chat-completions endpoint, the way production needs it.

- Retries (tenacity): 429, 5xx, timeouts and connection errors, with exponential backoff and
  jitter, honouring the server's ``Retry-After``; other 4xx are final.
- Structured answers: ``json_schema`` where the endpoint supports it, else ``json_object`` with
  the schema (llama.cpp's server), else plain text; ``auto`` negotiates in that order on a 400
  that names the response format, and remembers per (endpoint, model) what worked.
- A fallback model is tried once the main model's attempts are used up.
- The API key lives only in the SDK client; error texts are scrubbed of it.
- Within a run, the run's time budget bounds it all (``apps.common.deadlines``): each request's
  timeout is at most the time left, no retry waits past the deadline, and once the time is up no
  further request (nor the fallback model) is tried.
- For evaluation (backtests, replays; never live runs) an answer cache may be passed per call
  (``AnswerCache``; the database implementation is ``apps.analysis.answer_cache``): the key is
  ``answer_cache_key`` of exactly what the call would send, so a hit stands for that request.
"""

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx2
import openai
from django.conf import settings
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from apps.common import metrics
from apps.common.deadlines import RunTimeBudgetExceededError, current_deadline, time_left
from apps.common.errors import SibylError

MODES = ("json_schema", "json_object", "text")
_negotiated: dict[tuple[str, str], str] = {}
_negotiated_lock = threading.Lock()
ATTEMPT_ERROR_CHARS = 300  # an attempt's error text in the log is cut to this length


class LlmCallError(SibylError):
    """Every attempt (and the fallback model) failed; the message is the provider's error.

    ``attempts`` counts HTTP requests over all modes and models, ``latency_ms`` is the whole
    call's wall time (attempts and the waits between them) and ``attempt_log`` lists each
    attempt (see ``CallTrace``).
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        model: str,
        mode: str,
        latency_ms: float = 0.0,
        attempt_log: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts, self.model, self.mode = attempts, model, mode
        self.latency_ms = latency_ms
        self.attempt_log = attempt_log or []


class LlmCacheMissError(SibylError):
    """The answer cache is in ``only`` mode and holds no answer for this exact request; no HTTP
    request was made. ``key`` is the request's cache key (``answer_cache_key``)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"LLM answer cache miss in 'only' mode (key {key[:12]}): no stored answer for this "
            "exact request (endpoint, model, sampling settings, response format, messages); "
            "run it once in 'use' mode to store the answer"
        )
        self.key = key


@dataclass(frozen=True)
class CachedAnswer:
    """A stored answer: its text, refusal and finish reason, the response format (``mode``) and
    model that actually answered, and the original call's tokens, cost (USD) and latency (ms)."""

    text: str
    model: str
    mode: str
    finish_reason: str = ""
    refusal: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: float = 0.0


class AnswerCache(Protocol):
    """Where ``LlmClient.complete`` looks answers up and stores them, per call.

    ``mode``: ``use`` (hit: no request; miss: call and store), ``only`` (miss:
    ``LlmCacheMissError``, no request) or ``refresh`` (always call, overwrite the stored answer).
    ``off`` is expressed by passing no cache at all.
    """

    mode: str

    def get(self, key: str) -> CachedAnswer | None:
        """The stored answer under ``key`` (counting the hit), or None."""
        ...

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Store ``answer`` under ``key``; ``refresh`` overwrites, ``use`` keeps a stored one."""
        ...


CACHE_MODES = ("off", "use", "only", "refresh")


def answer_cache_key(
    *,
    base_url: str,
    model: str,
    fallback_model: str,
    temperature: float,
    max_tokens: int,
    mode: str,
    schema: dict[str, Any],
    messages: list[dict[str, Any]],
) -> str:
    """The sha256 hex digest of a canonical JSON (sorted keys, no whitespace) of what a call
    sends: the endpoint's base URL (never its key; trailing ``/`` dropped), the model and the
    fallback model, the sampling settings, the response format as configured (``mode``: ``auto``
    negotiates the same format against the same endpoint) with its JSON schema, and the exact
    messages (a chart image is in them as its data URL, so its bytes are hashed).
    """
    material = {
        "endpoint": base_url.rstrip("/"),
        "model": model,
        "fallback_model": fallback_model,
        "sampling": {"temperature": temperature, "max_tokens": max_tokens},
        "response_format": {"mode": mode, "schema": schema},
        "messages": messages,
    }
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChatAsk:
    """What is asked of every model tried: the messages, sampling settings and the schema."""

    messages: list[dict[str, Any]]
    temperature: float
    max_tokens: int
    schema: dict[str, Any]


@dataclass
class CallTrace:
    """The HTTP attempts of one ``complete`` call, over every mode and model tried.

    ``log`` holds one dict per attempt, in order: ``attempt`` (1-based), ``model``, ``mode``,
    ``status`` (the HTTP status, absent when no response came), ``error`` (the error text, key
    redacted, absent on success) and ``duration_ms``. ``elapsed_ms`` is the wall time since the
    call began, so it includes the waits between attempts.
    """

    started: float = field(default_factory=time.perf_counter)
    log: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, model: str, mode: str, began: float, status: int | None, error: str) -> None:
        """Record one attempt that began at ``began`` (``time.perf_counter()``) and ended now."""
        entry: dict[str, Any] = {"attempt": len(self.log) + 1, "model": model, "mode": mode}
        if status is not None:
            entry["status"] = status
        if error:
            entry["error"] = error[:ATTEMPT_ERROR_CHARS]
        entry["duration_ms"] = round((time.perf_counter() - began) * 1000.0, 3)
        self.log.append(entry)

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000.0


@dataclass
class LlmResult:
    """The raw answer text and what it took; tokens as the endpoint reported them.

    ``latency_ms`` is the whole call (every attempt and wait); ``finish_reason`` is the
    choice's (``stop``, ``length`` …); ``refusal`` the model's refusal text, if it declined.
    """

    text: str
    model: str
    mode: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    attempts: int = 0
    cost_usd: Decimal = Decimal(0)
    errors: list[str] = field(default_factory=list)
    finish_reason: str = ""
    refusal: str = ""
    attempt_log: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def cache_hit(self) -> bool:
        """Whether the answer came from the answer cache (no request was made)."""
        return bool(self.cache.get("hit"))


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
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    requested_model: str = "",
    prices: dict[str, dict[str, float]] | None = None,
) -> Decimal:
    """Estimated cost from ``prices`` (default LLM_PRICES; USD per million input/output
    tokens, ``{"model": {"input": x, "output": y}}``); 0 if unpriced.

    Looked up by the model id the endpoint reported, then by the id that was asked for
    (OpenAI reports dated ids such as ``gpt-4o-mini-2024-07-18``), with any ``vendor/`` prefix.
    """
    if prices is None:
        prices = settings.LLM_PRICES
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
    """A chat-completions client for one endpoint; ``complete`` does retries and negotiation.

    ``prices``: the cost table (default LLM_PRICES); ``http_client``: the httpx client the SDK
    sends with (``apps.common.outbound.pinned_http_client`` for user-supplied URLs; default:
    the SDK's own, which follows no redirects here either); ``endpoint_name``: the endpoint's
    configured name, the ``endpoint`` label of its Prometheus metrics (``apps.common.metrics``).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout_s: float,
        max_attempts: int,
        prices: dict[str, dict[str, float]] | None = None,
        http_client: httpx2.Client | None = None,
        endpoint_name: str = "",
    ) -> None:
        self._endpoint_name = endpoint_name
        self._base_url = base_url
        self._secret = api_key
        self._max_attempts = max_attempts
        self._timeout_s = timeout_s
        self._prices = prices
        # SDK retries off: tenacity does them, so attempts are counted and Retry-After honoured.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=api_key or "unused",
            timeout=timeout_s,
            max_retries=0,
            http_client=http_client or openai.DefaultHttpxClient(follow_redirects=False),
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
        cache: AnswerCache | None = None,
    ) -> LlmResult:
        """Ask ``model`` (then ``fallback_model``); raises LlmCallError when all fail, or when
        the run's time budget ran out first (then the message says so).

        The result's ``attempts``, ``latency_ms`` and ``attempt_log`` cover every request made,
        the failed model's included.

        With ``cache`` (evaluation only), the request's ``answer_cache_key`` is looked up first:
        a hit returns the stored answer with no request (``attempts`` 0, ``latency_ms`` 0, the
        original call's tokens and cost); in ``only`` mode a miss raises LlmCacheMissError;
        otherwise the call is made and a successful answer stored. ``result.cache`` is then
        ``{"mode", "key", "hit"}`` (empty without a cache).
        """
        ask = ChatAsk(messages, temperature, max_tokens, schema)
        if cache is None:
            return self._complete_uncached(ask, model, mode, fallback_model)
        key = answer_cache_key(
            base_url=self._base_url,
            model=model,
            fallback_model=fallback_model,
            temperature=temperature,
            max_tokens=max_tokens,
            mode=mode,
            schema=schema,
            messages=messages,
        )
        if cache.mode in ("use", "only"):
            stored = cache.get(key)
            if stored is not None:
                metrics.llm_cache_hit(endpoint=self._endpoint_name, model=model)
                return _from_cache(stored, {"mode": cache.mode, "key": key, "hit": True})
            if cache.mode == "only":
                raise LlmCacheMissError(key)
        result = self._complete_uncached(ask, model, mode, fallback_model)
        result.cache = {"mode": cache.mode, "key": key, "hit": False}
        cache.put(key, _to_cache(result))
        return result

    def _complete_uncached(
        self, ask: ChatAsk, model: str, mode: str, fallback_model: str
    ) -> LlmResult:
        trace = CallTrace()
        errors = []
        for candidate in [model] + ([fallback_model] if fallback_model else []):
            try:
                result = self._complete_model(ask, candidate, mode, trace)
            except _ModelFailed as error:
                errors.append(f"{candidate}: {error}")
                continue
            except RunTimeBudgetExceededError as error:
                errors.append(f"{candidate}: {error}")
                break  # no time left for another model either
            result.errors = errors
            result.attempts, result.attempt_log = len(trace.log), trace.log
            result.latency_ms = trace.elapsed_ms()
            self._count(model, result)
            return result
        metrics.llm_call(
            endpoint=self._endpoint_name, model=model, ok=False, latency_ms=trace.elapsed_ms()
        )
        raise LlmCallError(
            "; ".join(errors),
            attempts=len(trace.log),
            model=model,
            mode=mode,
            latency_ms=trace.elapsed_ms(),
            attempt_log=trace.log,
        )

    def _count(self, model: str, result: LlmResult) -> None:
        """Count a successful call for the requested ``model`` (the label stays the configured
        model even when the endpoint names another, so an endpoint cannot grow label sets)."""
        metrics.llm_call(
            endpoint=self._endpoint_name,
            model=model,
            ok=True,
            latency_ms=result.latency_ms,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=result.cost_usd,
        )

    def _complete_model(self, ask: ChatAsk, model: str, mode: str, trace: CallTrace) -> LlmResult:
        modes = self._modes(model, mode)
        for index, current in enumerate(modes):
            call = self._call(ask, model, current, trace)
            try:
                result = self._with_retries(call)
            except openai.APIStatusError as error:
                if _format_refused(error) and index + 1 < len(modes):
                    continue  # negotiate down: json_schema → json_object → text
                raise _ModelFailed(self._describe(error)) from error
            except openai.APIConnectionError as error:  # includes timeouts, retries used up
                raise _ModelFailed(self._describe(error)) from error
            if mode == "auto":
                with _negotiated_lock:
                    _negotiated[(self._base_url, model)] = current
            return result
        raise AssertionError("unreachable: the last mode either returns or raises")

    def _modes(self, model: str, mode: str) -> list[str]:
        if mode != "auto":
            return [mode]
        known = _negotiated.get((self._base_url, model))
        return [known] if known else list(MODES)

    def _describe(self, error: BaseException) -> str:
        status = getattr(error, "status_code", None)
        if isinstance(status, int) and 300 <= status < 400:
            # Not followed: the key must never travel to another origin, nor a request to an
            # address the outbound URL policy did not check.
            return (
                f"HTTP {status}: the endpoint answered with a redirect, which is not followed; "
                "set the endpoint's URL to the address it redirects to"
            )
        prefix = f"HTTP {status}: " if status else f"{type(error).__name__}: "
        return self._scrub(prefix + str(error))

    def _call(
        self, ask: ChatAsk, model: str, mode: str, trace: CallTrace
    ) -> Callable[[], LlmResult]:
        """One HTTP attempt, as tenacity retries it; each attempt is added to ``trace``."""

        def call() -> LlmResult:
            timeout_s = time_left(self._timeout_s, f"a request to {model}")
            began = time.perf_counter()
            try:
                response = self._request(ask, model, mode, timeout_s)
            except Exception as error:
                status = getattr(error, "status_code", None)
                trace.add(
                    model=model, mode=mode, began=began, status=status, error=self._describe(error)
                )
                raise
            trace.add(model=model, mode=mode, began=began, status=response.status_code, error="")
            return _result(response.parse(), model, mode, self._prices)

        return call

    def _request(self, ask: ChatAsk, model: str, mode: str, timeout_s: float) -> Any:
        extra: dict[str, Any] = {}
        response_format = _response_format(mode, ask.schema)
        if response_format is not None:
            extra["response_format"] = response_format
        return self._client.chat.completions.with_raw_response.create(  # type: ignore[call-overload]
            model=model,
            messages=ask.messages,  # type: ignore[arg-type]
            temperature=ask.temperature,
            max_tokens=ask.max_tokens,
            timeout=timeout_s,
            **extra,
        )

    def _with_retries(self, call: Callable[[], LlmResult]) -> LlmResult:
        """Run ``call`` with tenacity; the last error is raised as it is when attempts run out,
        or when the next wait would end past the run's deadline."""
        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts) | _StopAtDeadline(),
            wait=backoff_wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        return retrying(call)


class _StopAtDeadline(stop_base):
    """Stop retrying when the wait before the next attempt would use up the run's time budget
    (tenacity computes the wait, ``upcoming_sleep``, before it asks the stop condition)."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        deadline = current_deadline()
        return deadline is not None and deadline.remaining_s() <= retry_state.upcoming_sleep


def _result(
    completion: Any, model: str, mode: str, prices: dict[str, dict[str, float]] | None = None
) -> LlmResult:
    """An LlmResult from the SDK's ChatCompletion (tokens 0 when the endpoint sent no usage)."""
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
        cost_usd=cost_usd(
            answered_model, prompt, completion_tokens, requested_model=model, prices=prices
        ),
        finish_reason=(choice.finish_reason or "") if choice else "",
        refusal=(getattr(choice.message, "refusal", None) or "") if choice else "",
    )


def _to_cache(result: LlmResult) -> CachedAnswer:
    return CachedAnswer(
        text=result.text,
        model=result.model,
        mode=result.mode,
        finish_reason=result.finish_reason,
        refusal=result.refusal,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=result.cost_usd,
        latency_ms=result.latency_ms,
    )


def _from_cache(stored: CachedAnswer, cache: dict[str, Any]) -> LlmResult:
    """A hit as an LlmResult: the stored answer with the original call's tokens and cost, no
    attempts and latency 0 (no request was made; the original latency stays in the cache)."""
    return LlmResult(
        text=stored.text,
        model=stored.model,
        mode=stored.mode,
        prompt_tokens=stored.prompt_tokens,
        completion_tokens=stored.completion_tokens,
        latency_ms=0.0,
        attempts=0,
        cost_usd=stored.cost_usd,
        finish_reason=stored.finish_reason,
        refusal=stored.refusal,
        cache={**cache, "original_latency_ms": round(stored.latency_ms, 3)},
    )


class _ModelFailed(Exception):
    """One model failed for good (final error, or its attempts used up); the text is scrubbed."""
