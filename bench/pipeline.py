"""Issue 2's benchmark: each step's time for 500 daily bars with the baseline analyst.

Runs a baseline strategy on the shipped GOOG daily bars (lookback 500, RSI, MACD, BBANDS,
SMA50, ATR) at REPETITIONS as-of dates, after WARMUP runs that start Chromium. The durations are
the ones lineage records for each step. ``pipeline_non_llm_ms`` is data + indicators + charts +
signal + order of one run (order is 0 when the run ends at HOLD or a rejected signal).
"""

import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings

from apps.analysis.services import prompt_template_save
from apps.lineage.models import Step
from apps.marketdata.csv_import import bars_import_csv
from apps.marketdata.models import Bar
from apps.pipeline.executor import strategy_run
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash

WARMUP = 3
REPETITIONS = 25
STEPS = ("data", "indicators", "charts", "llm", "signal", "order")
NON_LLM = ("data", "indicators", "charts", "signal", "order")


def _bench_account() -> Account:
    """The benches' paper account, with USD 10^12 of starting cash: the burst's 500 strategies
    share it, and the paper book checks buying power per account and currency (a bench of
    dispatch and pipeline latency must not turn into one of running out of cash)."""
    account, _ = Account.objects.get_or_create(
        name="bench", owner=None, broker="paper", defaults={"is_default": False}
    )
    AccountCash.objects.update_or_create(
        account=account, currency="USD", defaults={"starting_cash": Decimal(10**12)}
    )
    return account


def bench_strategy() -> Strategy:
    """The benchmark's baseline strategy on GOOG daily bars (lookback 500), created once."""
    symbol, _ = Symbol.objects.get_or_create(
        symbol="GOOG", sec_type="STK", currency="USD", defaults={"timezone": "America/New_York"}
    )
    bars_import_csv(
        path=Path(settings.BASE_DIR) / "data" / "bars" / "GOOG_1d.csv",
        symbol=symbol,
        bar_size="1 day",
    )
    template = prompt_template_save(
        owner=None, name="bench", body="{{ symbol.symbol }} {{ bars.last.close }} {{ indicators }}"
    )
    strategy, _ = Strategy.objects.update_or_create(
        slug="bench-goog-500",
        defaults={
            "name": "bench",
            "symbol": symbol,
            "bar_size": "1 day",
            "lookback": 500,
            "indicators": [
                {"name": "RSI"},
                {"name": "MACD"},
                {"name": "BBANDS"},
                {"name": "SMA", "key": "SMA50", "params": {"timeperiod": 50}},
                {"name": "ATR"},
            ],
            "prompt_template": template,
            "account": _bench_account(),
            "analyst": "baseline",
            "order_type": "LMT",
            "time_in_force": "GTC",
            "max_position_quantity": Decimal("1000000"),
            "max_order_notional": Decimal("10000000"),
        },
    )
    return strategy


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> dict[str, float]:
    """Return per-step p50/p95 in ms and the non-LLM pipeline p50/p95 in ms."""
    strategy = bench_strategy()
    start = datetime(2011, 1, 3, tzinfo=UTC)
    per_step: dict[str, list[float]] = {name: [] for name in STEPS}
    totals: list[float] = []
    for index in range(WARMUP + REPETITIONS):
        run = strategy_run(
            strategy=strategy, as_of=start + timedelta(days=7 * index), trigger="manual"
        )
        if index < WARMUP:
            continue
        durations = dict(Step.objects.filter(run=run).values_list("name", "duration_ms"))
        for name in STEPS:
            per_step[name].append(durations.get(name) or 0.0)
        totals.append(sum(durations.get(name) or 0.0 for name in NON_LLM))
    results = {
        "pipeline_non_llm_ms_p50": statistics.median(totals),
        "pipeline_non_llm_ms_p95": _percentile(totals, 0.95),
    }
    for name, values in per_step.items():
        results[f"step_{name}_ms_p50"] = statistics.median(values)
    results = {key: round(value, 2) for key, value in results.items()}
    results.update(llm_overhead())
    return results


def llm_overhead() -> dict[str, float]:
    """``llm_overhead_ms_p50``: the llm step (prompt rendering, request building with the
    base64 chart, HTTP on loopback, parsing, lineage and LlmCall writes) against a loopback
    OpenAI-compatible server that answers at once, 25 runs after 3 warm-ups."""
    from django.test import override_settings

    from tests.llm_server import ScriptedLlmServer

    server = ScriptedLlmServer(record=False)
    server.start()
    strategy = bench_strategy()
    last = float(Bar.objects.filter(symbol=strategy.symbol).order_by("-ts")[0].close)
    server.answer_with(
        {
            "action": "HOLD",
            "confidence": 0.5,
            "entry": last,
            "stop_loss": None,
            "take_profit": None,
            "horizon": "5 bars",
            "reasoning": "bench",
        }
    )
    Strategy.objects.filter(pk=strategy.pk).update(analyst="openai")
    strategy.refresh_from_db()
    durations = []
    try:
        with override_settings(LLM_BASE_URL=server.base_url, LLM_API_KEY="bench"):
            for index in range(WARMUP + REPETITIONS):
                run = strategy_run(
                    strategy=strategy,
                    trigger="manual",
                    as_of=datetime(2011, 1, 3, tzinfo=UTC) + timedelta(days=7 * index),
                )
                step = Step.objects.get(run=run, name="llm")
                if index >= WARMUP and step.duration_ms is not None:
                    durations.append(step.duration_ms)
    finally:
        Strategy.objects.filter(pk=strategy.pk).update(analyst="baseline")
        server.stop()
    return {
        "llm_overhead_ms_p50": round(statistics.median(durations), 2),
        "llm_overhead_ms_p95": round(_percentile(durations, 0.95), 2),
    }
