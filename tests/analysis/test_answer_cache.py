"""The LLM answer cache of evaluation runs, against the loopback OpenAI-compatible server (which
counts the requests it gets): ``use`` stores, ``only`` answers with no request (or fails on a
miss), ``refresh`` overwrites, and a live run never uses the cache."""

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

from apps.analysis.analysts import SYSTEM_PROMPT, AnalysisRequest, OpenAIAnalyst
from apps.analysis.answer_cache import DatabaseAnswerCache, llm_cache_mode
from apps.analysis.costs import llm_cost_estimate, typical_tokens
from apps.analysis.decision import decision_json_schema
from apps.analysis.llm_client import LlmCacheMissError, LlmClient, answer_cache_key
from apps.analysis.models import LlmAnswerCache, LlmCall
from apps.lineage.models import Run
from apps.marketdata.series import BarSeries
from apps.pipeline.executor import strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.analysis.runs import AS_OF, llm_step
from tests.factories import PromptTemplateFactory, StrategyFactory, decision_answer
from tests.llm_server import Reply, ScriptedLlmServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_retries")]

# HOLD answers: no order, so the account (and the next run's prompt) stays as it was.
HOLD = decision_answer(action="HOLD", entry=None, stop_loss=None, take_profit=None)
# gpt-4o-mini (the default LLM_MODEL) at 0.15/0.60 USD per million tokens, 120 + 40 tokens
ORIGINAL_COST = Decimal("0.000042")


def evaluate(strategy: Strategy, *, llm_cache: str, trigger: str = "backtest") -> Run:
    """An inline run of ``strategy`` as of ``AS_OF`` with the given trigger and cache mode."""
    return strategy_run(strategy=strategy, as_of=AS_OF, trigger=trigger, llm_cache=llm_cache)


def _cache_hits() -> float:
    labels = {"endpoint": "LLM_BASE_URL", "model": "gpt-4o-mini"}
    return REGISTRY.get_sample_value("sibyl_llm_cache_hits_total", labels) or 0.0


def openai_strategy(goog: Symbol, **fields: Any) -> Strategy:
    return StrategyFactory.create(symbol=goog, analyst="openai", **fields)


def test_a_second_backtest_in_only_mode_makes_no_request_and_decides_the_same(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(HOLD)
    strategy = openai_strategy(goog)
    first = evaluate(strategy, llm_cache="use")
    assert first.status == "succeeded", first.error_message
    assert len(llm_server.requests) == 1
    stored = LlmAnswerCache.objects.get()
    assert (stored.prompt_tokens, stored.completion_tokens, stored.cost_usd) == (
        120,
        40,
        ORIGINAL_COST,
    )
    assert (stored.hits, stored.model, stored.finish_reason) == (0, "gpt-4o-mini", "stop")

    hits = _cache_hits()
    second = evaluate(strategy, llm_cache="only")
    assert second.status == "succeeded", second.error_message
    assert len(llm_server.requests) == 1  # answered from the cache: zero HTTP requests
    assert _cache_hits() == hits + 1  # and counted for Prometheus
    before, after = llm_step(first).output, llm_step(second).output
    assert after["decision"] == before["decision"]
    assert before["cache"] == {"mode": "use", "key": stored.key, "hit": False}
    assert after["cache"]["hit"] is True and after["cache"]["key"] == stored.key
    assert after["cache"]["mode"] == "only"
    assert llm_step(second).input["llm_cache"] == "only"
    miss = LlmCall.objects.get(run=first)
    hit = LlmCall.objects.get(run=second)
    assert (miss.cache, hit.cache) == ("miss", "hit")
    # a hit carries the original call's tokens and cost, and took no time nor attempts itself
    assert (hit.prompt_tokens, hit.completion_tokens, hit.cost_usd) == (120, 40, ORIGINAL_COST)
    assert (hit.latency_ms, hit.attempts, miss.attempts) == (0.0, 0, 1)
    stored.refresh_from_db()
    assert stored.hits == 1 and stored.last_hit_at is not None


def test_only_mode_with_a_changed_prompt_fails_the_llm_step_without_a_request(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with(HOLD)
    strategy = openai_strategy(goog)
    assert evaluate(strategy, llm_cache="use").status == "succeeded"
    template = strategy.prompt_template
    strategy.prompt_template = PromptTemplateFactory.create(
        name=template.name, version=2, body=template.body + "\nAnswer tersely."
    )
    strategy.save()
    calls_before = LlmCall.objects.count()

    run = evaluate(strategy, llm_cache="only")
    assert run.status == "failed"
    assert len(llm_server.requests) == 1  # no request for the miss
    step = llm_step(run)
    assert step.error_type == "LlmCacheMissError"
    key = step.output["cache"]["key"]
    assert step.output["cache"] == {"mode": "only", "key": key, "hit": False}
    assert not LlmAnswerCache.objects.filter(key=key).exists()
    assert step.error_message == str(LlmCacheMissError(key))
    assert f"key {key[:12]}" in step.error_message and "'only' mode" in step.error_message
    assert LlmCall.objects.count() == calls_before  # nothing was called, nothing to record


@pytest.mark.parametrize("trigger", ["manual", "schedule", "api"])
def test_a_live_run_never_uses_the_cache(
    goog: Symbol, llm_server: ScriptedLlmServer, trigger: str
) -> None:
    llm_server.answer_with(HOLD)
    strategy = openai_strategy(goog)
    for _ in range(2):
        run = evaluate(strategy, llm_cache="use", trigger=trigger)
        assert run.status == "succeeded", run.error_message
        assert run.llm_cache == "use" and llm_cache_mode(run=run) == "off"
        assert llm_step(run).input["llm_cache"] == "off"
        assert llm_step(run).output["cache"] == {}
    assert len(llm_server.requests) == 2  # both live runs called the model
    assert not LlmAnswerCache.objects.exists()
    assert set(LlmCall.objects.values_list("cache", flat=True)) == {""}


def test_refresh_calls_again_and_overwrites_the_stored_answer(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    strategy = openai_strategy(goog)
    llm_server.answer_with({**HOLD, "confidence": 0.6})
    assert evaluate(strategy, llm_cache="use").status == "succeeded"
    llm_server.answer_with({**HOLD, "confidence": 0.7})
    refreshed = evaluate(strategy, llm_cache="refresh")
    assert refreshed.status == "succeeded", refreshed.error_message
    assert len(llm_server.requests) == 2  # refresh always calls
    assert LlmCall.objects.get(run=refreshed).cache == "miss"
    stored = LlmAnswerCache.objects.get()  # one row per key: overwritten, not added
    assert '"confidence": 0.7' in stored.text

    rerun = evaluate(strategy, llm_cache="only")
    assert len(llm_server.requests) == 2
    assert llm_step(rerun).output["decision"]["confidence"] == 0.7
    # `use` keeps the stored answer: a hit, not a third request
    assert evaluate(strategy, llm_cache="use").status == "succeeded"
    assert len(llm_server.requests) == 2


def test_a_stored_answer_that_does_not_parse_fails_the_rerun_the_same_way(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with("not a decision")
    strategy = openai_strategy(goog)
    first, second = evaluate(strategy, llm_cache="use"), evaluate(strategy, llm_cache="only")
    assert len(llm_server.requests) == 1
    assert llm_step(second).error_type == llm_step(first).error_type == "DecisionParseError"
    assert llm_step(second).error_message == llm_step(first).error_message
    assert llm_step(second).output["cache"]["hit"] is True
    hit = LlmCall.objects.get(run=second)
    assert (hit.cache, hit.succeeded, hit.prompt_tokens, hit.latency_ms) == ("hit", False, 120, 0)


def _messages(png: bytes) -> list[dict[str, Any]]:
    empty = np.array([], dtype=np.float64)
    bars = BarSeries(  # not read by the messages
        ts=[], open=empty, high=empty, low=empty, close=empty, volume=empty, last_close=Decimal(0)
    )
    return OpenAIAnalyst.messages(AnalysisRequest(prompt="p", chart_png=png, bars=bars))


def _key(messages: list[dict[str, Any]], **changes: Any) -> str:
    fields: dict[str, Any] = {
        "base_url": "http://127.0.0.1:9/v1",
        "model": "m",
        "fallback_model": "",
        "temperature": 0.0,
        "max_tokens": 800,
        "mode": "auto",
        "schema": decision_json_schema(),
        "messages": messages,
    }
    return answer_cache_key(**{**fields, **changes})


def test_the_key_covers_the_image_bytes_and_every_setting_sent() -> None:
    messages = _messages(b"\x89PNG one")
    key = _key(messages)
    assert len(key) == 64 and key == _key(_messages(b"\x89PNG one"))
    assert key == _key(messages, base_url="http://127.0.0.1:9/v1/")  # trailing slash
    assert _key(_messages(b"\x89PNG two")) != key  # one image byte changed
    changes: list[dict[str, Any]] = [
        {"base_url": "http://127.0.0.1:10/v1"},
        {"model": "m2"},
        {"fallback_model": "f"},
        {"temperature": 0.1},
        {"max_tokens": 801},
        {"mode": "json_object"},
        {"schema": {**decision_json_schema(), "title": "other"}},
    ]
    assert len({_key(messages, **change) for change in changes} | {key}) == len(changes) + 1


def test_the_api_key_is_not_part_of_the_key(llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(HOLD)
    asked: dict[str, Any] = {
        "messages": _messages(b"\x89PNG"),
        "model": "m",
        "temperature": 0.0,
        "max_tokens": 100,
        "mode": "json_schema",
        "schema": decision_json_schema(),
    }
    clients = [
        LlmClient(base_url=llm_server.base_url, api_key=key, timeout_s=5, max_attempts=1)
        for key in ("sk-one", "sk-two")
    ]
    first = clients[0].complete(**asked, cache=DatabaseAnswerCache("use"))
    second = clients[1].complete(**asked, cache=DatabaseAnswerCache("only"))
    assert len(llm_server.requests) == 1
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert second.text == first.text and second.cache["key"] == first.cache["key"]
    stored = LlmAnswerCache.objects.get()
    assert "sk-" not in stored.key + stored.text


def test_a_failed_call_is_not_stored(llm_server: ScriptedLlmServer) -> None:
    llm_server.answer_with(Reply(status=400, content="bad request"))
    client = LlmClient(base_url=llm_server.base_url, api_key="", timeout_s=5, max_attempts=1)
    with pytest.raises(Exception, match="bad request"):
        client.complete(
            messages=_messages(b"x"),
            model="m",
            temperature=0.0,
            max_tokens=10,
            mode="json_schema",
            schema={},
            cache=DatabaseAnswerCache("use"),
        )
    assert not LlmAnswerCache.objects.exists()


def test_an_unknown_cache_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="not an answer cache mode"):
        DatabaseAnswerCache("off")


def test_the_cost_estimate_uses_the_strategy_s_typical_tokens(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    strategy = openai_strategy(goog, llm_max_tokens=500)
    # no call yet: prompt characters / 4 and the max_tokens limit
    characters = len(SYSTEM_PROMPT) + len(strategy.prompt_template.body)
    assert typical_tokens(strategy=strategy) == (-(-characters // 4), 500)
    expected = (Decimal("0.15") * -(-characters // 4) + Decimal("0.60") * 500) * 10 / 10**6
    assert llm_cost_estimate(strategy=strategy, slots=10) == expected.quantize(Decimal("1e-6"))
    # after calls: their median tokens (120 + 40 from the loopback server)
    llm_server.answer_with(HOLD)
    evaluate(strategy, llm_cache="off", trigger="manual")
    assert typical_tokens(strategy=strategy) == (120, 40)
    assert llm_cost_estimate(strategy=strategy, slots=252) == ORIGINAL_COST * 252
    assert llm_cost_estimate(strategy=strategy, slots=0) == 0
    baseline = StrategyFactory.create(symbol=goog, analyst="baseline")
    assert llm_cost_estimate(strategy=baseline, slots=252) == 0
    with pytest.raises(ValueError, match="slots must be 0 or more"):
        llm_cost_estimate(strategy=strategy, slots=-1)
