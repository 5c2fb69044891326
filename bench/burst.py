"""Issue 3's benchmarks: the opening-bell burst and the dispatcher's claim rate.

Burst: BURST_STRATEGIES strategies due in the same minute, each on the shipped GOOG daily bars
(five TA-Lib indicators, chart PNG), the `openai` analyst against a loopback OpenAI-compatible
server that answers after 2 s, and the paper broker. Two Celery worker processes (threads pool)
on the `runs` queue, warmed up (Chromium started) before the slot, as they would be in
production. Measured from the slot: when the last run finished, and each run's schedule lag
(slot → its first step's start).

A chart PNG is rendered once per identical input (issue 16), so the burst must not share one:
in ``burst_500_*`` every strategy has its own chart input (lookbacks 300 … 799, 500 renders);
``burst_500_100_charts_*`` spreads the 500 strategies over 100 distinct inputs (lookbacks
300 … 399, five strategies each), the other 400 charts being reused.

Claim: CLAIM_STRATEGIES due strategies; one dispatch_due call claims them all (median of 3).
"""

import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Max, Min

from apps.lineage.models import Run, RunStatus, Step
from apps.marketdata.models import Bar
from apps.pipeline.dispatch import dispatch_due
from apps.pipeline.tasks import execute_run
from apps.strategies.models import Strategy
from bench.pipeline import bench_strategy
from tests.llm_server import ScriptedLlmServer

BURST_STRATEGIES = 500
CLAIM_STRATEGIES = 10_000
WORKERS = 2
THREADS = 24
LLM_DELAY_S = 2.0


BURST_LOOKBACK_FROM = 300


def _clone_strategies(count: int, prefix: str, distinct_charts: int = 1) -> list[Strategy]:
    """``count`` copies of the bench strategy; copy i has lookback
    ``BURST_LOOKBACK_FROM + i % distinct_charts``, i.e. ``distinct_charts`` chart inputs."""
    template = bench_strategy()
    Run.objects.filter(strategy__slug__startswith=prefix).delete()
    Strategy.objects.filter(slug__startswith=prefix).delete()
    clones = []
    for index in range(count):
        clone = Strategy.objects.get(pk=template.pk)
        clone.pk = None
        clone.slug, clone.name = f"{prefix}{index}", f"{prefix}{index}"
        clone.lookback = BURST_LOOKBACK_FROM + index % distinct_charts
        clones.append(clone)
    return Strategy.objects.bulk_create(clones, batch_size=1000)


def _decision_near_last_close() -> dict[str, object]:
    last = float(
        Bar.objects.filter(symbol__symbol="GOOG").order_by("-ts").values_list("close", flat=True)[0]
    )
    return {
        "action": "BUY",
        "confidence": 0.8,
        "entry": last,
        "stop_loss": last * 0.98,
        "take_profit": last * 1.04,
        "horizon": "5 bars",
        "reasoning": "bench",
    }


def _start_workers(llm_url: str) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "LLM_BASE_URL": llm_url,
        "LLM_API_KEY": "bench",
        "SIBYL_WARM_CHARTS": "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "celery_app",
        "worker",
        "--queues",
        "runs",
        "--pool",
        "threads",
        "--concurrency",
        str(THREADS),
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    log = (Path(settings.BASE_DIR) / "var" / "bench" / "burst-workers.log").open("ab")
    return [
        subprocess.Popen(
            [*command, "--hostname", f"bench{n}@%h"],
            env=env,
            stdout=log,
            stderr=log,
            cwd=settings.BASE_DIR,
        )
        for n in range(WORKERS)
    ]


def _wait_for_workers(count: int) -> None:
    from celery_app import app

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= count:
            time.sleep(8)  # Chromium starts on worker_ready: let it finish
            return
    raise RuntimeError("bench workers did not start")


def _wait_until_finished(run_ids: list[int], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    active = (RunStatus.PENDING, RunStatus.RUNNING)
    while Run.objects.filter(pk__in=run_ids, status__in=active).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("burst runs did not finish in time")
        time.sleep(0.5)


def _burst_figures(run_ids: list[int], slot: datetime, metric: str) -> dict[str, float]:
    runs = Run.objects.filter(pk__in=run_ids)
    last_finish = runs.aggregate(last=Max("finished_at"))["last"]
    first_steps = (
        Step.objects.filter(run_id__in=run_ids).values("run_id").annotate(first=Min("started_at"))
    )
    lags = sorted((row["first"] - slot).total_seconds() for row in first_steps)
    failed = runs.exclude(status=RunStatus.SUCCEEDED).count()
    renders = Step.objects.filter(
        run_id__in=run_ids, name="charts", output__render="rendered"
    ).count()
    return {
        f"{metric}_total_s": round((last_finish - slot).total_seconds(), 2),
        f"{metric}_lag_p95_s": round(lags[min(len(lags) - 1, round(0.95 * (len(lags) - 1)))], 2),
        f"{metric}_lag_p50_s": round(statistics.median(lags), 2),
        f"{metric}_failed_runs_count": float(failed),
        f"{metric}_chart_renders_count": float(renders),
    }


def _burst_once(prefix: str, metric: str) -> dict[str, float]:
    """Make the ``prefix`` strategies due at the next minute, dispatch them at that slot, wait
    for every run, deactivate them and return the burst's figures named ``metric``_…"""
    try:
        now = datetime.now(UTC)
        slot = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        Strategy.objects.filter(slug__startswith=prefix).update(
            analyst="openai", schedule_cron="* * * * *", next_run_at=slot, is_active=True
        )
        time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()))
        report = dispatch_due(now=datetime.now(UTC))
        for run_id in report.claimed_run_ids:
            execute_run.delay(run_id)
        _wait_until_finished(report.claimed_run_ids, timeout_s=600)
        return _burst_figures(report.claimed_run_ids, slot, metric)
    finally:
        Strategy.objects.filter(slug__startswith=prefix).update(is_active=False)


def _burst() -> dict[str, float]:
    _clone_strategies(BURST_STRATEGIES, "burst-", distinct_charts=BURST_STRATEGIES)
    _clone_strategies(BURST_STRATEGIES, "burst100-", distinct_charts=100)
    server = ScriptedLlmServer(delay_s=LLM_DELAY_S, record=False)
    server.answer_with(_decision_near_last_close())
    server.start()
    workers = _start_workers(server.base_url)
    try:
        _wait_for_workers(WORKERS)
        results = _burst_once("burst-", "burst_500")
        results.update(_burst_once("burst100-", "burst_500_100_charts"))
        return results
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        server.stop()


def _claim_10k() -> float:
    strategies = _clone_strategies(CLAIM_STRATEGIES, "claim-")
    ids = [s.pk for s in strategies]
    timings = []
    for _ in range(3):
        Run.objects.filter(strategy_id__in=ids).delete()
        slot = datetime.now(UTC).replace(second=0, microsecond=0)
        Strategy.objects.filter(pk__in=ids).update(
            schedule_cron="* * * * *", is_active=True, next_run_at=slot
        )
        started = time.perf_counter()
        report = dispatch_due(now=slot + timedelta(seconds=1))
        timings.append(time.perf_counter() - started)
        assert len(report.claimed_run_ids) == CLAIM_STRATEGIES
    Run.objects.filter(strategy_id__in=ids).delete()
    Strategy.objects.filter(pk__in=ids).update(is_active=False, next_run_at=None)
    return round(statistics.median(timings), 3)


def run() -> dict[str, float]:
    """Return ``dispatch_10k_claim_s``, the burst figures (``burst_500_*``: 500 distinct chart
    inputs) and ``burst_500_100_charts_*`` (500 strategies over 100 chart inputs)."""
    results = {"dispatch_10k_claim_s": _claim_10k()}
    results.update(_burst())
    return results
