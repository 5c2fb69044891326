"""The REST API's lineage reads on a large history: run detail and the runs list.

Seeds the bench database once (marker: the strategy slug ``bench-api``) with 100,000 runs of
ten strategies, 600,000 steps (six each, JSON input/output of a few hundred bytes), two chart
artifacts and one language-model call per run, a signal on 40 % of the runs and a bracket of
three orders (two fills) on 5 %, written with PostgreSQL COPY. Then, through DRF's APIClient
in-process (a staff user with a token), after WARMUP requests of each kind, times:

- ``api_run_detail_ms``: ``GET /api/v1/runs/{id}/`` for REQUESTS random run ids;
- ``api_runs_list_ms``: ``GET /api/v1/runs/?page_size=50`` REQUESTS times, a third the first
  page, a third a cursor page at a random position further in, a third filtered by strategy
  (first page or a random cursor).

Reports p50 and p95 in milliseconds, the dataset size and the seeding time (0 when the data
was already there).
"""

import base64
import json
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Max, Model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.analysis.models import LlmCall, PromptTemplate
from apps.lineage.models import Artifact, Run, Step
from apps.orders.models import Fill, Order
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.services import account_default_for

MARKER = "bench-api"
RUNS = 100_000
STRATEGIES = 10
SIGNAL_EVERY = 5  # 2 of every 5 runs have a signal (ids ≡ 0, 1 mod 5)
ORDERS_EVERY = 20  # 1 of every 20 runs has a bracket
WARMUP = 20
REQUESTS = 200
STEP_NAMES = ("data", "indicators", "charts", "llm", "signal", "order")
START = datetime(2024, 1, 1, tzinfo=UTC)

Row = Sequence[Any]


# The columns each COPY writes, in the order the seeding rows hold them (shared with
# bench/positions.py).
RUN_COLUMNS = [
    "id",
    "strategy_id",
    "trigger",
    "as_of",
    "scheduled_for",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
    "current_step",
    "error_message",
    "enqueue_count",
]
SIGNAL_COLUMNS = [
    "id",
    "strategy_id",
    "run_id",
    "action",
    "position_side",
    "confidence",
    "entry",
    "stop_loss",
    "take_profit",
    "reward_risk",
    "reasoning",
    "status",
    "checks",
    "rejection_reasons",
    "created_at",
    "intent",
    "position_action",
]
ORDER_COLUMNS = [
    "id",
    "run_id",
    "signal_id",
    "symbol_id",
    "account_id",
    "broker",
    "role",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "parent_id",
    "oca_group",
    "client_order_ref",
    "broker_order_id",
    "status",
    "filled_quantity",
    "avg_fill_price",
    "commission",
    "realized_pnl",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "cancelled_at",
    "flagged_at",
    "strategy_id",
    "reason",
    "version",
]
FILL_COLUMNS = [
    "id",
    "order_id",
    "execution_id",
    "executed_at",
    "quantity",
    "price",
    "commission",
    "realized_pnl",
    "unattributed_quantity",
]


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return round(statistics.median(samples), 2), round(cuts[94], 2)


def _copy(model: type[Model], columns: Sequence[str], rows: Iterable[Row]) -> None:
    """COPY ``rows`` into ``model``'s table (text format; JSON given as strings)."""
    table = model._meta.db_table
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _next_id(model: type[Model]) -> int:
    return int(model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _reset_sequence(model: type[Model]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
        )


def _bench_user() -> User:
    user, _ = User.objects.get_or_create(
        username="bench-api-staff", defaults={"is_staff": True, "email": "bench@example.test"}
    )
    return user


def _strategies(owner: User) -> list[Strategy]:
    symbol, _ = Symbol.objects.get_or_create(
        symbol="BAPI", sec_type="STK", currency="USD", defaults={"timezone": "America/New_York"}
    )
    template = PromptTemplate.objects.filter(
        owner=owner, name=MARKER
    ).first() or PromptTemplate.objects.create(
        owner=owner,
        author=owner,
        name=MARKER,
        version=1,
        body="{{ symbol.symbol }} {{ bars.last.close }}",
    )
    account = account_default_for(owner=owner)
    return [
        Strategy.objects.create(
            name=f"Bench API {i}",
            slug=MARKER if i == 0 else f"{MARKER}-{i}",
            owner=owner,
            account=account,
            symbol=symbol,
            bar_size="1 hour",
            prompt_template=template,
            order_type="LMT",
            time_in_force="GTC",
        )
        for i in range(STRATEGIES)
    ]


def _step_json(name: str, i: int, close: Decimal) -> tuple[str, str]:
    """Realistic input and output of one step (a few hundred bytes each)."""
    inputs: dict[str, Any] = {
        "data": {"symbol": "BAPI", "bar_size": "1 hour", "lookback": 200, "as_of_index": i},
        "indicators": {"indicators": [{"name": "RSI"}, {"name": "MACD"}, {"name": "ATR"}]},
        "charts": {"width": 1200, "height": 700, "bars": 200, "overlays": ["SMA50", "BBANDS"]},
        "llm": {"analyst": "openai", "model": "gpt-4o-mini", "template": "bench-api v1"},
        "signal": {"min_confidence": "0.6", "min_reward_risk": "1.5", "max_dev_pct": "2"},
        "order": {"broker": "paper", "order_type": "LMT", "time_in_force": "GTC"},
    }
    outputs: dict[str, Any] = {
        "data": {
            "bars": 200,
            "first_ts": "2023-10-02T13:00:00+00:00",
            "last_ts": "2024-01-05T20:00:00+00:00",
            "last_close": str(close),
            "gaps": [],
        },
        "indicators": {"RSI": 48.213, "MACD": -0.412, "MACD_signal": -0.301, "ATR": 2.871},
        "charts": {"png_bytes": 84211, "json_bytes": 51200, "render_ms": 412.5},
        "llm": {
            "usage": {"prompt_tokens": 1830, "completion_tokens": 96},
            "model": "gpt-4o-mini",
            "response_format": "json_schema",
            "is_language_model": True,
            "decision": {"action": "SELL", "confidence": 0.72, "horizon": "5 bars"},
        },
        "signal": {"status": "accepted", "reward_risk": "1.8100", "failed": []},
        "order": {"quantity": "92", "account": "embedded", "account_kind": "paper"},
    }
    return json.dumps(inputs[name]), json.dumps(outputs[name])


def _checks(close: Decimal) -> str:
    return json.dumps(
        [
            {"name": "prices_positive", "passed": True, "detail": f"entry {close}"},
            {"name": "target_below_entry_below_stop", "passed": True, "detail": "ok"},
            {"name": "reward_risk", "passed": True, "detail": "reward/risk 1.81 >= 1.5"},
            {"name": "confidence", "passed": True, "detail": "confidence 0.72 >= 0.6"},
            {"name": "entry_deviation", "passed": True, "detail": "0.4% from last close"},
        ]
    )


CHUNK = 10_000
TABLES = ("runs", "steps", "artifacts", "llm_calls", "signals", "orders", "fills")


def _seed(strategies: list[Strategy]) -> dict[str, int]:
    """Write the history with COPY, CHUNK runs at a time, in one transaction; returns the row
    counts."""
    models: tuple[type[Model], ...] = (Run, Step, Artifact, LlmCall, Signal, Order, Fill)
    ids = {m: _next_id(m) for m in models}
    counts = dict.fromkeys(TABLES, 0)
    with transaction.atomic():
        for first in range(0, RUNS, CHUNK):
            tables = _chunk(strategies, ids, range(first, min(first + CHUNK, RUNS)))
            _write(tables)
            for name, rows in zip(TABLES, tables, strict=True):
                counts[name] = counts.get(name, 0) + len(rows)
        for model in (Run, Step, Artifact, LlmCall, Signal, Order, Fill):
            _reset_sequence(model)
    with connection.cursor() as cursor:
        for model in (Run, Step, Artifact, LlmCall, Signal, Order, Fill):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return counts


def _chunk(
    strategies: list[Strategy], ids: dict[type[Model], int], numbers: range
) -> tuple[list[Row], ...]:
    """The rows of runs ``numbers`` (0-based) for every table; ``ids`` holds the next free id
    of each table and is advanced."""
    runs: list[Row] = []
    steps: list[Row] = []
    artifacts: list[Row] = []
    calls: list[Row] = []
    signals: list[Row] = []
    orders: list[Row] = []
    fills: list[Row] = []
    symbol_id = strategies[0].symbol_id
    account_id = strategies[0].account_id
    step_id, artifact_id, order_id, fill_id = ids[Step], ids[Artifact], ids[Order], ids[Fill]
    signal_id = ids[Signal]
    for n in numbers:
        run_id = ids[Run] + n - numbers.start
        strategy = strategies[n % STRATEGIES]
        created = START + timedelta(minutes=5 * n)
        started, finished = created + timedelta(seconds=1), created + timedelta(seconds=7)
        failed = n % 25 == 24
        close = Decimal("150") + Decimal(n % 1000) / 100
        status, current, error = (
            ("failed", "llm", "LlmCallError: 503 upstream") if failed else ("succeeded", "", "")
        )
        runs.append(
            (run_id, strategy.pk, "schedule", created, created, status, created, started,
             finished, finished, current, error, 1)
        )  # fmt: skip
        for seq, name in enumerate(STEP_NAMES, start=1):
            step_status = "succeeded" if not failed or seq < 4 else ("failed", "skipped")[seq > 4]
            payload_in, payload_out = _step_json(name, n, close)
            begin = started + timedelta(milliseconds=900 * (seq - 1))
            failure = ("LlmCallError", error) if step_status == "failed" else ("", "")
            steps.append(
                (step_id, run_id, name, seq, step_status, begin,
                 begin + timedelta(milliseconds=850), 850.0, payload_in, payload_out, *failure)
            )  # fmt: skip
            if name == "charts":
                for kind, content_type, size in (
                    ("chart_png", "image/png", 84211),
                    ("chart_json", "application/json", 51200),
                ):
                    path = f"artifacts/2024/01/01/{run_id}-{kind}"
                    artifacts.append((artifact_id, step_id, kind, path, content_type, size, begin))
                    artifact_id += 1
            step_id += 1
        calls.append(
            (ids[LlmCall] + n - numbers.start, run_id, strategy.pk, "gpt-4o-mini", "json_schema",
             1830, 96, 812.5, 1, Decimal("0.000332"), not failed, error, started,
             json.dumps([{"attempt": 1, "model": "gpt-4o-mini", "mode": "json_schema",
                          "status": 503 if failed else 200, "duration_ms": 812.5}]),
             "" if failed else "stop")
        )  # fmt: skip
        if failed or n % SIGNAL_EVERY > 1:
            continue
        signals.append(
            (signal_id, strategy.pk, run_id, "SELL", "SHORT", Decimal("0.72"), close,
             close + 3, close - 6, Decimal("2.0"), "Momentum fades under the 50-bar mean.",
             "accepted", _checks(close), "[]", finished, "", "open")
        )  # fmt: skip
        if n % ORDERS_EVERY == 0:
            parent = order_id
            for role, side, kind, limit, stop, fill_it in (
                ("entry", "SELL", "LMT", close, None, True),
                ("take_profit", "BUY", "LMT", close - 6, None, True),
                ("stop_loss", "BUY", "STP", None, close + 3, False),
            ):
                orders.append(
                    (order_id, run_id, signal_id, symbol_id, account_id, "paper", role, side, kind,
                     Decimal(92), limit, stop, "GTC", None if role == "entry" else parent,
                     f"sibyl-{run_id}-oca", f"bench-{run_id}-{role}", f"paper-{order_id}",
                     "filled" if fill_it else "cancelled", Decimal(92) if fill_it else 0,
                     (limit or stop) if fill_it else None, Decimal("1.00"), 0, "", 1, finished,
                     finished, finished, finished if fill_it else None,
                     None if fill_it else finished, None, strategy.pk, "signal", 0)
                )  # fmt: skip
                if fill_it:
                    fills.append(
                        (fill_id, order_id, f"bench-exec-{order_id}", finished, Decimal(92),
                         limit, Decimal("1.00"), 0, 0)
                    )  # fmt: skip
                    fill_id += 1
                order_id += 1
        signal_id += 1
    ids[Run] += len(numbers)
    ids[LlmCall] += len(numbers)
    ids[Step], ids[Artifact], ids[Order], ids[Fill] = step_id, artifact_id, order_id, fill_id
    ids[Signal] = signal_id
    return runs, steps, artifacts, calls, signals, orders, fills


def _write(tables: tuple[list[Row], ...]) -> None:
    runs, steps, artifacts, calls, signals, orders, fills = tables
    _copy(Run, RUN_COLUMNS, runs)
    _copy(
        Step,
        ["id", "run_id", "name", "sequence", "status", "started_at", "finished_at",
         "duration_ms", "input", "output", "error_type", "error_message"],
        steps,
    )  # fmt: skip
    _copy(
        Artifact,
        ["id", "step_id", "kind", "file", "content_type", "size_bytes", "created_at"],
        artifacts,
    )
    _copy(
        LlmCall,
        ["id", "run_id", "strategy_id", "model", "response_format", "prompt_tokens",
         "completion_tokens", "latency_ms", "attempts", "cost_usd", "succeeded", "error",
         "created_at", "attempt_log", "finish_reason"],
        calls,
    )  # fmt: skip
    _copy(Signal, SIGNAL_COLUMNS, signals)
    _copy(Order, ORDER_COLUMNS, orders)
    _copy(Fill, FILL_COLUMNS, fills)


def seed() -> float:
    """Seed the history unless the marker strategy exists; returns the seconds it took."""
    if Strategy.objects.filter(slug=MARKER).exists():
        return 0.0
    began = time.perf_counter()
    with transaction.atomic():
        strategies = _strategies(_bench_user())
    _seed(strategies)
    return round(time.perf_counter() - began, 2)


def _cursor(position: int) -> str:
    """DRF's cursor for "the rows after id ``position``" (newest first)."""
    return base64.b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def _timed(client: APIClient, urls: list[str]) -> list[float]:
    samples = []
    for url in urls:
        began = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return samples


def _list_urls(
    rng: random.Random, run_ids: list[int], strategy_ids: list[int], n: int
) -> list[str]:
    base = "/api/v1/runs/?page_size=50"
    kinds: list[Callable[[], str]] = [
        lambda: base,
        lambda: f"{base}&cursor={_cursor(rng.choice(run_ids))}",
        lambda: (
            f"{base}&strategy={rng.choice(strategy_ids)}"
            + (f"&cursor={_cursor(rng.choice(run_ids))}" if rng.random() < 0.5 else "")
        ),
    ]
    return [kinds[i % 3]() for i in range(n)]


def run() -> dict[str, float]:
    """Seed once, then time run detail and the runs list through the API."""
    seconds = seed()
    strategy_ids = list(
        Strategy.objects.filter(slug__startswith=MARKER).values_list("pk", flat=True)
    )
    run_ids = list(Run.objects.filter(strategy_id__in=strategy_ids).values_list("pk", flat=True))
    client = APIClient(SERVER_NAME="localhost")
    token, _ = Token.objects.get_or_create(user=_bench_user())
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    rng = random.Random(7)
    detail = [f"/api/v1/runs/{pk}/" for pk in rng.sample(run_ids, WARMUP + REQUESTS)]
    listing = _list_urls(rng, run_ids, strategy_ids, WARMUP + REQUESTS)
    _timed(client, detail[:WARMUP])
    _timed(client, listing[:WARMUP])
    detail_p50, detail_p95 = _percentiles(_timed(client, detail[WARMUP:]))
    list_p50, list_p95 = _percentiles(_timed(client, listing[WARMUP:]))
    return {
        "api_run_detail_ms_p50": detail_p50,
        "api_run_detail_ms_p95": detail_p95,
        "api_runs_list_ms_p50": list_p50,
        "api_runs_list_ms_p95": list_p95,
        "api_bench_runs": float(len(run_ids)),
        "api_bench_steps": float(Step.objects.filter(run__strategy_id__in=strategy_ids).count()),
        "api_bench_seed_s": seconds,
    }
