"""Prometheus instruments of Sibyl's domain events, and the one-line calls that feed them.

Every process (gunicorn workers, Celery workers, beat, the test runner) increments these in
``prometheus_client``'s default registry. With ``PROMETHEUS_MULTIPROC_DIR`` set in the
environment before the process starts, ``prometheus_client`` writes each process's values to
memory-mapped files in that directory and the web app's ``/metrics`` (``apps.observability``)
adds them up across processes; unset (the demo, the tests), values live in the process and
``/metrics`` shows that process's own.

Labels are bounded on purpose (a Prometheus series per label combination lives forever):
run status and trigger, step name and status, endpoint *name* and the *requested* model (both
configured, never what an endpoint answers), order status and broker kind, position side.
Never a run, order, fill or account id. Per-strategy and per-account numbers (P&L, open
positions, trading state) come from the database at scrape time (``apps.observability.
collectors``), for configured strategies and accounts only, never backtests' copies.

Events inside a database transaction are counted when it commits (``transaction.on_commit``):
a rolled-back fill or transition is not counted.

This module sits at the bottom (``apps.common``): it imports no app, so any app may call it.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from prometheus_client import Counter, Histogram

# Step and call durations: from a cached bar read (ms) to a slow model (minutes).
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Schedule lag: a healthy dispatcher starts a slot within seconds; minutes mean a backlog.
LAG_BUCKETS_S = (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)

RUNS = Counter(
    "sibyl_runs",
    "Runs that ended, by final status (succeeded, failed, expired, abandoned, skipped) and "
    "trigger (schedule, manual, api, backtest, replay).",
    ["status", "trigger"],
)
STEP_DURATION = Histogram(
    "sibyl_step_duration_seconds",
    "Wall time of a run's step (data, indicators, charts, llm, signal, order), by its outcome.",
    ["step", "status"],
    buckets=DURATION_BUCKETS_S,
)
SCHEDULE_LAG = Histogram(
    "sibyl_schedule_lag_seconds",
    "A scheduled run's start minus its schedule slot (seconds).",
    buckets=LAG_BUCKETS_S,
)
LLM_CALLS = Counter(
    "sibyl_llm_calls",
    "Model calls (all attempts and a fallback are one call), by endpoint name, requested "
    "model and outcome (ok, error).",
    ["endpoint", "model", "outcome"],
)
LLM_TOKENS = Counter(
    "sibyl_llm_tokens",
    "Tokens the endpoint reported, by endpoint name, requested model and kind "
    "(prompt, completion).",
    ["endpoint", "model", "kind"],
)
LLM_COST = Counter(
    "sibyl_llm_cost_usd",
    "Estimated model cost in USD (LLM_PRICES), by endpoint name and requested model.",
    ["endpoint", "model"],
)
LLM_LATENCY = Histogram(
    "sibyl_llm_latency_seconds",
    "Wall time of a model call (every attempt and wait), by endpoint name and requested model.",
    ["endpoint", "model"],
    buckets=DURATION_BUCKETS_S,
)
LLM_CACHE_HITS = Counter(
    "sibyl_llm_cache_hits",
    "Evaluation runs' model answers served by the LLM answer cache (no request made), by "
    "endpoint name and requested model.",
    ["endpoint", "model"],
)
ORDERS = Counter(
    "sibyl_orders",
    "Order status transitions, by the status entered and the broker kind (paper, ibkr).",
    ["status", "broker"],
)
FILLS = Counter(
    "sibyl_fills",
    "Executions recorded (fills), by broker kind and order side (BUY, SELL).",
    ["broker", "side"],
)
POSITIONS_OPENED = Counter(
    "sibyl_positions_opened", "Strategy positions opened, by side (LONG, SHORT).", ["side"]
)
POSITIONS_CLOSED = Counter(
    "sibyl_positions_closed",
    "Strategy positions closed, by side and outcome (win, loss, breakeven).",
    ["side", "outcome"],
)


def _after_commit(action: Callable[[], None]) -> None:
    """Run ``action`` now outside a transaction, else when the transaction commits."""
    transaction.on_commit(action)


def run_finished(*, status: str, trigger: str, count: int = 1) -> None:
    """Count ``count`` runs that reached the final ``status`` (a RunStatus value) with
    ``trigger`` (a RunTrigger value)."""
    RUNS.labels(status=status, trigger=trigger).inc(count)


def runs_finished(*, status: str, triggers: Iterable[str]) -> None:
    """Count runs that reached ``status`` together: one per trigger value in ``triggers``."""
    for trigger in triggers:
        run_finished(status=status, trigger=trigger)


def run_started(*, trigger: str, scheduled_for: datetime | None, started_at: datetime) -> None:
    """Observe the schedule lag of a claimed run: ``started_at - scheduled_for`` in seconds
    (both tz-aware UTC), for scheduled runs only (backtests' slots are in the past by design;
    manual runs have no slot). A run started before its slot counts as 0."""
    if trigger == "schedule" and scheduled_for is not None:
        SCHEDULE_LAG.observe(max(0.0, (started_at - scheduled_for).total_seconds()))


def step_finished(*, step: str, status: str, duration_s: float) -> None:
    """Observe one step's wall time ``duration_s`` (seconds) under its name and final status."""
    STEP_DURATION.labels(step=step, status=status).observe(duration_s)


def llm_call(
    *,
    endpoint: str,
    model: str,
    ok: bool,
    latency_ms: float,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    cost_usd: Decimal = Decimal(0),
) -> None:
    """Count one model call to ``endpoint`` (its configured name) for the requested ``model``:
    its outcome, latency (ms, converted to seconds), tokens and estimated cost (USD)."""
    endpoint = endpoint or "default"
    LLM_CALLS.labels(endpoint=endpoint, model=model, outcome="ok" if ok else "error").inc()
    LLM_LATENCY.labels(endpoint=endpoint, model=model).observe(latency_ms / 1000.0)
    if prompt_tokens:
        LLM_TOKENS.labels(endpoint=endpoint, model=model, kind="prompt").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(endpoint=endpoint, model=model, kind="completion").inc(completion_tokens)
    if cost_usd:
        LLM_COST.labels(endpoint=endpoint, model=model).inc(float(cost_usd))


def llm_cache_hit(*, endpoint: str, model: str) -> None:
    """Count one answer the LLM answer cache served for ``endpoint`` (its configured name) and
    the requested ``model`` instead of a call (evaluation runs only: live runs never use it)."""
    LLM_CACHE_HITS.labels(endpoint=endpoint or "default", model=model).inc()


def order_status(*, status: str, broker: str) -> None:
    """Count an order entering ``status`` (an OrderStatus value) on ``broker`` (paper, ibkr),
    when the surrounding transaction commits."""
    _after_commit(lambda: ORDERS.labels(status=status, broker=broker).inc())


def fill_recorded(*, broker: str, side: str) -> None:
    """Count one recorded execution of an order of ``side`` (BUY, SELL) on ``broker``, when
    the surrounding transaction commits."""
    _after_commit(lambda: FILLS.labels(broker=broker, side=side).inc())


def position_changed(*, side: str, opened: bool, closed: bool, outcome: str = "") -> None:
    """Count a strategy position of ``side`` (LONG, SHORT) that this fill ``opened`` and/or
    ``closed`` (with its ``outcome``: win, loss, breakeven), when the transaction commits."""
    if opened:
        _after_commit(lambda: POSITIONS_OPENED.labels(side=side).inc())
    if closed:
        _after_commit(lambda: POSITIONS_CLOSED.labels(side=side, outcome=outcome or "").inc())
