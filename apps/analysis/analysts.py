"""Analysts turn a rendered prompt and chart into a Decision.

Two implementations of one interface: ``BaselineAnalyst`` (deterministic rules, not a language
model) and ``OpenAIAnalyst`` (any OpenAI-compatible chat-completions endpoint).
"""

import base64
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import talib

from apps.analysis.decision import (
    Decision,
    DecisionParseError,
    decision_json_schema,
    parse_decision,
)
from apps.common.errors import SibylError
from apps.marketdata.series import BarSeries

SYSTEM_PROMPT = (
    "You are a disciplined trading analyst. Read the user's market data and chart and answer "
    "with one JSON object matching the given schema: action BUY, SELL or HOLD; confidence 0-1; "
    "entry, stop_loss and take_profit prices in the instrument's currency (null for HOLD); "
    "horizon; reasoning."
)


class AnalystError(SibylError):
    """The analyst could not produce an answer (endpoint unreachable, refused, empty)."""


@dataclass(frozen=True)
class AnalysisRequest:
    """What an analyst reads: the rendered prompt, the chart PNG and the bars it was drawn from."""

    prompt: str
    chart_png: bytes
    bars: BarSeries
    model: str = ""
    temperature: float = 0.0
    max_tokens: int = 800


@dataclass
class AnalystAnswer:
    """A validated decision with what it took: raw text, model id, tokens and seconds."""

    decision: Decision
    raw_answer: str
    analyst: str
    model: str
    is_language_model: bool
    latency_ms: float
    usage: dict[str, int] = field(default_factory=dict)


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
    """Any OpenAI-compatible chat-completions endpoint through the openai SDK.

    The chart PNG goes as an ``image_url`` data-URI part; the answer is requested in the
    ``json_schema`` response format with the Decision schema and parsed with pydantic.
    """

    name = "openai"

    def __init__(self, *, base_url: str, api_key: str, default_model: str, timeout_s: float):
        from openai import OpenAI

        # The key lives only inside the client object; it is never logged or stored.
        self._client = OpenAI(base_url=base_url, api_key=api_key or "unused", timeout=timeout_s)
        self._default_model = default_model

    def _messages(self, request: AnalysisRequest) -> list[dict[str, Any]]:
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
        """Ask the model; raises AnalystError for endpoint failures, DecisionParseError for
        answers that are not schema-valid JSON."""
        import openai

        model = request.model or self._default_model
        started = time.perf_counter()
        try:
            completion = self._client.chat.completions.create(  # type: ignore[call-overload]
                model=model,
                messages=self._messages(request),  # type: ignore[arg-type]
                temperature=request.temperature,
                max_tokens=request.max_tokens,
                response_format={  # type: ignore[typeddict-item]
                    "type": "json_schema",
                    "json_schema": {
                        "name": "decision",
                        "schema": decision_json_schema(),
                        "strict": True,
                    },
                },
            )
        except openai.OpenAIError as error:
            raise AnalystError(f"{type(error).__name__}: {error}") from error
        latency_ms = (time.perf_counter() - started) * 1000.0
        raw = (completion.choices[0].message.content or "") if completion.choices else ""
        if not raw:
            raise DecisionParseError("the model returned an empty answer")
        usage = completion.usage
        return AnalystAnswer(
            decision=parse_decision(raw),
            raw_answer=raw,
            analyst=self.name,
            model=completion.model or model,
            is_language_model=True,
            latency_ms=latency_ms,
            usage={
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
            }
            if usage
            else {},
        )
