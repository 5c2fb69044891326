"""Analysts turn a rendered prompt and chart into a Decision.

Two implementations of one interface: ``BaselineAnalyst`` (deterministic rules, not a language
model) and ``OpenAIAnalyst`` (any OpenAI-compatible chat-completions endpoint).
"""

import base64
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import talib

from apps.analysis.decision import (
    Decision,
    DecisionParseError,
    ModelRefusalError,
    ParsedDecision,
    decision_json_schema,
    parse_decision,
)
from apps.analysis.llm_client import AnswerCache, LlmClient, LlmResult
from apps.marketdata.series import BarSeries

SYSTEM_PROMPT = (
    "You are a disciplined trading analyst. Read the user's market data and chart and answer "
    "with one JSON object matching the given schema: action BUY, SELL or HOLD; confidence 0-1; "
    "entry, stop_loss and take_profit prices in the instrument's currency (null for HOLD); "
    "horizon; reasoning; intent for the position you hold (open, close, reverse, adjust) "
    "or null."
)


@dataclass(frozen=True)
class AnalysisRequest:
    """What an analyst reads: the rendered prompt, the chart PNG and the bars it was drawn from.

    ``answer_cache``: the LLM answer cache of an evaluation run (None: no cache, as for every
    live run); only a language model uses it.
    """

    prompt: str
    chart_png: bytes
    bars: BarSeries
    chart_summary: str = ""
    model: str = ""
    temperature: float = 0.0
    max_tokens: int = 800
    accepts_images: bool = True
    response_format: str = "auto"
    fallback_model: str = ""
    answer_cache: AnswerCache | None = None


@dataclass
class AnalystAnswer:
    """A validated decision with what it took: raw text, model id, tokens and milliseconds.

    ``latency_ms`` covers every attempt and wait; ``attempt_log`` lists the attempts (see
    ``llm_client.CallTrace``); ``finish_reason`` is the endpoint's; ``reasoning_truncated`` says
    the reasoning was cut to the schema's limit; ``cache`` is the answer cache's
    ``{mode, key, hit}`` (empty without a cache; on a hit tokens and cost are the original
    call's and ``latency_ms`` is 0).
    """

    decision: Decision
    raw_answer: str
    analyst: str
    model: str
    is_language_model: bool
    latency_ms: float
    usage: dict[str, int] = field(default_factory=dict)
    response_format: str = ""
    attempts: int = 0
    cost_usd: Decimal = Decimal(0)
    finish_reason: str = ""
    attempt_log: list[dict[str, Any]] = field(default_factory=list)
    reasoning_truncated: bool = False
    cache: dict[str, Any] = field(default_factory=dict)


class Analyst(Protocol):
    """Returns an AnalystAnswer; raises AnalystError or DecisionParseError."""

    name: str

    def analyze(self, request: AnalysisRequest) -> AnalystAnswer: ...


class BaselineAnalyst:
    """Deterministic rules on the bars, for running with no language model.

    Rules (TA-Lib RSI(14), MACD(12, 26, 9), EMA(50), ATR(14) over the close):
    BUY when the MACD histogram is positive, the close is above EMA(50) and RSI < 70;
    SELL when the histogram is negative, the close is below EMA(50) and RSI > 30; else HOLD.
    Entry is the last close, stop 2 ATR away, target 3.1 ATR away (reward/risk 1.55, so that
    rounding the prices to the tick cannot take it below a 1.5 minimum).
    Confidence is 0.65, plus 0.1 while RSI is between 40 and 60 (room to run).
    """

    name = "baseline"
    model = "baseline-rules-v1"

    def analyze(self, request: AnalysisRequest) -> AnalystAnswer:
        """Apply the rules to ``request.bars`` (needs about 60 bars for the warm-up)."""
        started = time.perf_counter()
        decision = self._decide(request.bars)
        return AnalystAnswer(
            decision=decision,
            raw_answer=decision.model_dump_json(),
            analyst=self.name,
            model=self.model,
            is_language_model=False,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        )

    def _decide(self, bars: BarSeries) -> Decision:
        close, high, low = bars.close, bars.high, bars.low
        rsi = float(talib.RSI(close, timeperiod=14)[-1])
        histogram = float(talib.MACD(close)[2][-1])
        ema = float(talib.EMA(close, timeperiod=50)[-1])
        atr = float(talib.ATR(high, low, close, timeperiod=14)[-1])
        last = float(close[-1])
        if not all(np.isfinite([rsi, histogram, ema, atr])) or atr <= 0:
            return _hold(f"not enough bars for the rules ({len(bars)} bars)")
        facts = f"RSI {rsi:.1f}, MACD histogram {histogram:.4g}, EMA50 {ema:.6g}, ATR {atr:.4g}"
        direction = 0
        if histogram > 0 and last > ema and rsi < 70:
            direction = 1
        elif histogram < 0 and last < ema and rsi > 30:
            direction = -1
        if direction == 0:
            return _hold(f"no aligned trend and momentum: {facts}")
        confidence = 0.75 if 40 <= rsi <= 60 else 0.65
        return Decision(
            action="BUY" if direction > 0 else "SELL",
            confidence=confidence,
            entry=last,
            stop_loss=last - direction * 2 * atr,
            take_profit=last + direction * 3.1 * atr,
            horizon="10 bars",
            reasoning=f"{'Uptrend' if direction > 0 else 'Downtrend'} with momentum: {facts}",
        )


def _hold(reason: str) -> Decision:
    return Decision(
        action="HOLD",
        confidence=0.5,
        entry=None,
        stop_loss=None,
        take_profit=None,
        horizon="",
        reasoning=reason,
    )


class OpenAIAnalyst:
    """Any OpenAI-compatible chat-completions endpoint, through ``LlmClient``.

    The chart PNG goes as an ``image_url`` data-URI part when the model accepts images;
    otherwise the prompt carries a text summary of the chart. The answer is asked for in the
    decision schema (see ``llm_client`` for format negotiation) and validated with pydantic.
    """

    name = "openai"

    def __init__(self, *, client: LlmClient, default_model: str) -> None:
        self._client = client
        self._default_model = default_model

    @staticmethod
    def messages(request: AnalysisRequest) -> list[dict[str, Any]]:
        """System and user messages: prompt text plus the chart as image or as text."""
        if not request.accepts_images:
            text = f"{request.prompt}\n\nChart (text summary): {request.chart_summary}"
            return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]
        image = base64.b64encode(request.chart_png).decode("ascii")
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": request.prompt},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}},
                ],
            },
        ]

    def analyze(self, request: AnalysisRequest) -> AnalystAnswer:
        """Ask the model; raises LlmCallError when the endpoint fails after retries and the
        fallback, ModelRefusalError when the model declines, DecisionParseError when the answer
        is not schema-valid JSON (saying so when it was cut at ``max_tokens``). The last two
        carry the call's LlmResult as their typed ``llm_result``: it was made and paid for.
        With ``request.answer_cache``, also LlmCacheMissError (``only`` mode, no stored answer:
        no request made)."""
        result = self._client.complete(
            messages=self.messages(request),
            model=request.model or self._default_model,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            mode=request.response_format,
            schema=decision_json_schema(),
            fallback_model=request.fallback_model,
            cache=request.answer_cache,
        )
        try:
            parsed = _parse(result, request.max_tokens)
        except DecisionParseError as error:
            error.llm_result = result
            raise
        return AnalystAnswer(
            decision=parsed.decision,
            raw_answer=result.text,
            analyst=self.name,
            model=result.model,
            is_language_model=True,
            latency_ms=result.latency_ms,
            usage={
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
            },
            response_format=result.mode,
            attempts=result.attempts,
            cost_usd=result.cost_usd,
            finish_reason=result.finish_reason,
            attempt_log=result.attempt_log,
            reasoning_truncated=parsed.reasoning_truncated,
            cache=result.cache,
        )


def _parse(result: LlmResult, max_tokens: int) -> ParsedDecision:
    """The decision in ``result``; raises ModelRefusalError or DecisionParseError."""
    if result.refusal:
        raw = "\n".join(part for part in (result.text, result.refusal) if part)
        raise ModelRefusalError(f"the model refused: {result.refusal}", raw_answer=raw)
    try:
        if not result.text.strip():
            raise DecisionParseError("the model returned an empty answer", raw_answer="")
        return parse_decision(result.text)
    except DecisionParseError as error:
        if result.finish_reason != "length":
            raise
        # the endpoint stopped at the token limit: that, not the JSON, is what to fix
        raise DecisionParseError(
            f"the answer was cut off at the max_tokens limit ({max_tokens} tokens): {error}",
            raw_answer=error.raw_answer,
        ) from error
