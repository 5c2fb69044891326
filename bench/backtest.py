"""Issue 16's benchmarks: a year of daily slots backtested with the `openai` analyst.

One strategy on the shipped GOOG daily bars (the pipeline bench's: lookback 500, five TA-Lib
indicators, chart PNG), cron ``0 22 * * 1-5`` UTC over 2011-03-01..2012-02-15 (252 weekdays:
the bench symbol has no trading calendar, so no holiday is skipped), answered by a loopback
OpenAI-compatible server with zero latency that accepts the chart image and answers BUY
(bracket at −2 %/+4 % around the last close the prompt shows) or HOLD, deterministically
from that price, so that orders are placed and filled on the paper book as in a real
backtest.

- ``backtest_252_daily_slots_s``: one variant, inline, ``use`` cache mode on an empty cache
  (every slot a model call, stored).
- ``backtest_252_daily_slots_cold_charts_s``: the first of those backtests, after the chart
  PNGs earlier bench backtests of this strategy stored are forgotten (their rows deleted and
  files released): every chart is rendered in it. The later repetitions find the charts their
  first one stored (identical inputs are rendered once, issue 16), so the median above is a
  backtest whose charts exist, as are the cached and parallel ones below.
- ``backtest_252_daily_slots_cached_s``: the same backtest again in ``only`` mode: every answer
  from the cache; the server must see zero requests.
- ``backtest_4_variants_252_slots_s``: four variants (cache ``off``: every slot of each a call)
  in parallel on two Celery worker processes (threads pool, two threads each) on the ``runs``
  queue, from ``backtest_start`` until the backtest is ``done``.

Each is the median of ``BENCH_BACKTEST_REPETITIONS`` (default 3) backtests. The variants
timed are only the compared ones (``baseline_reference=False``): the baseline analyst's
reference row, which a backtest adds by default, is another 252 slots that the targets' work
(issue 16: one variant, four variants) does not include.
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import override_settings

from apps.analysis.models import LlmAnswerCache
from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.services import VariantSpec, backtest_create, backtest_run
from apps.evaluation.tasks import backtest_start
from apps.lineage.models import Artifact, Run, RunStatus
from apps.lineage.services import artifact_files_release
from apps.marketdata.charts import png_renderer
from apps.strategies.models import Strategy
from bench.pipeline import bench_strategy
from tests.llm_server import ScriptedLlmServer

START = datetime(2011, 3, 1, tzinfo=UTC)
END = datetime(2012, 2, 15, 23, 59, tzinfo=UTC)
SLOTS = 252
WORKERS = 2
THREADS = 2
VARIANTS = 4
REPETITIONS = int(os.environ.get("BENCH_BACKTEST_REPETITIONS", "3"))
_PRICE = re.compile(r"GOOG (\d+(?:\.\d+)?)")


class PricedLlmServer(ScriptedLlmServer):
    """The loopback server, answering each request from the last close its prompt shows;
    ``count`` counts the requests (their bodies, chart images included, are not kept)."""

    def __init__(self) -> None:
        super().__init__(record=False)
        self.count = 0

    def _respond(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        text = json.dumps(request["messages"][-1]["content"])
        found = _PRICE.search(text)
        assert found is not None, "the bench prompt shows the last close after the symbol"
        last = float(found.group(1))
        buy = int(last * 100) % 3 == 0
        decision = {
            "action": "BUY" if buy else "HOLD",
            "confidence": 0.8 if buy else 0.5,
            "entry": last,
            "stop_loss": round(last * 0.98, 2) if buy else None,
            "take_profit": round(last * 1.04, 2) if buy else None,
            "horizon": "5 bars",
            "reasoning": "bench",
        }
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 0,
            "model": request.get("model") or "bench",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps(decision)},
                }
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160},
        }
        with self._lock:
            self.count += 1
        return 200, {}, json.dumps(body).encode()


def _strategy() -> Strategy:
    """The bench strategy's copy for backtests: openai analyst, weekdays at 22:00 UTC."""
    base = bench_strategy()
    Strategy.objects.filter(backtest_of__slug="bench-backtest-goog").update(is_active=False)
    strategy = Strategy.objects.filter(slug="bench-backtest-goog").first()
    if strategy is None:
        strategy = Strategy.objects.get(pk=base.pk)
        strategy.pk = None
        strategy.slug = "bench-backtest-goog"
    strategy.name = "bench backtest"
    strategy.analyst = "openai"
    strategy.schedule_cron = "0 22 * * 1-5"
    strategy.schedule_timezone = "UTC"
    strategy.is_active = False
    strategy.next_run_at = None
    strategy.save()
    return strategy


def _checked(backtest: Backtest, variants: int) -> None:
    backtest.refresh_from_db()
    assert backtest.status == BacktestStatus.DONE, f"{backtest}: {backtest.error}"
    runs = Run.objects.filter(strategy__in=backtest.variants.values("clone"))
    assert runs.count() == SLOTS * variants, runs.count()
    failed = runs.exclude(status=RunStatus.SUCCEEDED).count()
    assert failed == 0, f"{failed} runs failed: {runs.exclude(status='succeeded').first()}"


def _forget_charts(strategy: Strategy) -> None:
    """Delete the chart PNG rows of earlier bench backtests of ``strategy`` and release their
    files, so that the next backtest renders every chart again."""
    rows = Artifact.objects.filter(step__run__strategy__backtest_of=strategy, kind="chart_png")
    names = list(rows.values_list("file", flat=True).distinct())
    rows.delete()
    artifact_files_release(names=names)


def _inline(strategy: Strategy, mode: str) -> float:
    backtest = backtest_create(
        strategy=strategy, start=START, end=END, llm_cache=mode, baseline_reference=False
    )
    assert backtest.variants.get().slots_total == SLOTS
    started = time.perf_counter()
    backtest_run(backtest)
    elapsed = time.perf_counter() - started
    _checked(backtest, 1)
    return elapsed


def _start_workers(llm_url: str) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "LLM_BASE_URL": llm_url, "LLM_API_KEY": "bench", "SIBYL_WARM_CHARTS": "1"}
    log = (Path(settings.BASE_DIR) / "var" / "bench" / "backtest-workers.log").open("ab")
    return [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "celery_app", "worker"),
                *("--queues", "runs", "--pool", "threads", "--concurrency", str(THREADS)),
                *("--hostname", f"bt{n}-{os.getpid()}@%h", "--loglevel", "WARNING"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            env=env,
            stdout=log,
            stderr=log,
            cwd=settings.BASE_DIR,
        )
        for n in range(WORKERS)
    ]


def _wait_for_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    from celery_app import app

    names = [f"bt{n}-{os.getpid()}@{os.uname().nodename}" for n in range(WORKERS)]
    deadline = time.monotonic() + 120
    while len(app.control.ping(destination=names, timeout=1.0) or []) < WORKERS:
        assert all(w.poll() is None for w in workers), "a bench worker exited"
        assert time.monotonic() < deadline, "bench workers did not start"
    time.sleep(8)  # Chromium starts on worker_ready: let it finish


def _parallel(strategy: Strategy) -> float:
    variants = [VariantSpec(label=f"v{n}") for n in range(1, VARIANTS + 1)]
    backtest = backtest_create(
        strategy=strategy, start=START, end=END, variants=variants, baseline_reference=False
    )
    started = time.perf_counter()
    backtest_start(backtest)  # autocommit: sent at once
    deadline = time.monotonic() + 1800
    while Backtest.objects.filter(pk=backtest.pk, status=BacktestStatus.RUNNING).exists():
        assert time.monotonic() < deadline, "the parallel backtest did not finish"
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    _checked(backtest, VARIANTS)
    return elapsed


def run() -> dict[str, float]:
    """Return the medians (seconds) of the three backtest benchmarks."""
    strategy = _strategy()
    png_renderer()  # Chromium warm, as in a worker (SIBYL_WARM_CHARTS)
    server = PricedLlmServer()
    server.start()
    use: list[float] = []
    only: list[float] = []
    parallel: list[float] = []
    try:
        with override_settings(LLM_BASE_URL=server.base_url, LLM_API_KEY="bench"):
            _forget_charts(strategy)
            for _ in range(REPETITIONS):
                LlmAnswerCache.objects.all().delete()  # a fresh cache
                before = server.count
                use.append(_inline(strategy, "use"))
                assert server.count - before == SLOTS, server.count - before
                before = server.count
                only.append(_inline(strategy, "only"))
                assert server.count == before, f"{server.count - before} requests in only mode"
        workers = _start_workers(server.base_url)
        try:
            _wait_for_workers(workers)
            for _ in range(REPETITIONS):
                before = server.count
                parallel.append(_parallel(strategy))
                assert server.count - before == SLOTS * VARIANTS
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
    finally:
        server.stop()
    return {
        "backtest_252_daily_slots_s": round(statistics.median(use), 2),
        "backtest_252_daily_slots_cold_charts_s": round(use[0], 2),
        "backtest_252_daily_slots_cached_s": round(statistics.median(only), 2),
        "backtest_4_variants_252_slots_s": round(statistics.median(parallel), 2),
    }
