"""``/metrics`` scrape time on a database of 500 strategies (issue 17: p95 < 100 ms).

Seeds the bench database once (marker: the strategy slug ``bench-metrics``): ten paper
accounts and 500 strategies over them, each with 20 closed positions and one open (10,500
strategy positions), plus a backtest's hidden copy of each of 50 strategies with its own
positions (which the scrape must skip), so the scrape-time queries group real rows. The
process's domain counters are given the label variety of a busy day (every step and status,
five models on two endpoints, every order status). Then ``GET /metrics`` from loopback
through the whole middleware stack, WARMUP times, then REQUESTS timed:

- ``metrics_scrape_ms_p50`` / ``metrics_scrape_ms_p95``: wall time per scrape (ms);
- ``metrics_scrape_kb``: the exposition's size (kB).
"""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client

from apps.analysis.models import PromptTemplate
from apps.common import metrics
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash
from bench.api import _percentiles

MARKER = "bench-metrics"
STRATEGIES = 500
ACCOUNTS = 10
CLOSED_PER_STRATEGY = 20
BACKTEST_COPIES = 50
WARMUP = 20
REQUESTS = 200
START = datetime(2024, 1, 1, tzinfo=UTC)


def _strategy(owner: User, account: Account, symbol: Symbol, template: PromptTemplate,
              slug: str, backtest_of: Strategy | None = None) -> Strategy:  # fmt: skip
    return Strategy(
        name=slug,
        slug=slug,
        owner=owner,
        account=account,
        symbol=symbol,
        bar_size="1 hour",
        prompt_template=template,
        order_type="MKT",
        time_in_force="GTC",
        backtest_of=backtest_of,
    )


def _positions(strategy: Strategy) -> list[StrategyPosition]:
    rows = []
    for n in range(CLOSED_PER_STRATEGY + 1):
        is_open = n == CLOSED_PER_STRATEGY
        realized = Decimal((n % 7) * 10 - 25)
        opened = START + timedelta(hours=n)
        rows.append(
            StrategyPosition(
                account_id=strategy.account_id,
                strategy=strategy,
                symbol_id=strategy.symbol_id,
                side="LONG" if n % 3 else "SHORT",
                status="open" if is_open else "closed",
                quantity=Decimal(10) if is_open else Decimal(0),
                average_cost=Decimal(100) if is_open else Decimal(0),
                realized_pnl=Decimal(0) if is_open else realized,
                commission=Decimal(2),
                entry_quantity=Decimal(10),
                entry_price=Decimal(100),
                exit_quantity=Decimal(0) if is_open else Decimal(10),
                exit_price=None if is_open else Decimal(100) + realized / 10,
                initial_risk=Decimal(50),
                r_multiple=None if is_open else realized / 50,
                outcome="" if is_open else "win" if realized > 0 else "loss",
                opened_at=opened,
                closed_at=None if is_open else opened + timedelta(minutes=30),
            )
        )
    return rows


def seed() -> float:
    """Seed accounts, strategies and positions unless the marker strategy exists; returns the
    seconds it took."""
    if Strategy.objects.filter(slug=MARKER).exists():
        return 0.0
    began = time.perf_counter()
    with transaction.atomic():
        owner, _ = User.objects.get_or_create(
            username=MARKER, defaults={"email": f"{MARKER}@example.test"}
        )
        symbol, _ = Symbol.objects.get_or_create(
            symbol="BMET", sec_type="STK", currency="USD",
            defaults={"timezone": "America/New_York"},
        )  # fmt: skip
        template = PromptTemplate.objects.create(
            owner=owner, author=owner, name=MARKER, version=1, body="{{ symbol.symbol }}"
        )
        accounts = []
        for n in range(ACCOUNTS):
            account = Account.objects.create(owner=owner, name=f"{MARKER} {n}")
            AccountCash.objects.create(account=account, currency="USD", starting_cash=1_000_000)
            accounts.append(account)
        strategies = Strategy.objects.bulk_create(
            _strategy(owner, accounts[n % ACCOUNTS], symbol, template,
                      MARKER if n == 0 else f"{MARKER}-{n}")
            for n in range(STRATEGIES)
        )  # fmt: skip
        backtest_account = Account.objects.create(
            owner=owner, name=f"{MARKER} backtest", paper_clock=START
        )
        copies = Strategy.objects.bulk_create(
            _strategy(owner, backtest_account, symbol, template, f"{MARKER}-bt-{n}",
                      backtest_of=strategies[n])
            for n in range(BACKTEST_COPIES)
        )  # fmt: skip
        StrategyPosition.objects.bulk_create(
            (row for strategy in strategies + copies for row in _positions(strategy)),
            batch_size=2_000,
        )
    with connection.cursor() as cursor:
        for model in (StrategyPosition, Strategy, Account):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return round(time.perf_counter() - began, 2)


def _busy_day() -> None:
    """Give the process's counters the label sets a day of runs leaves behind."""
    for step in ("data", "indicators", "charts", "llm", "signal", "order"):
        for status in ("succeeded", "failed"):
            metrics.step_finished(step=step, status=status, duration_s=0.05)
    for status in ("succeeded", "failed", "expired", "abandoned"):
        for trigger in ("schedule", "manual", "api", "backtest", "replay"):
            metrics.run_finished(status=status, trigger=trigger)
    for endpoint in ("LLM_BASE_URL", "gpu-box"):
        for model in ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "qwen", "llama"):
            metrics.llm_call(endpoint=endpoint, model=model, ok=True, latency_ms=900,
                             prompt_tokens=1200, completion_tokens=200,
                             cost_usd=Decimal("0.0003"))  # fmt: skip
    for status in ("submitting", "submitted", "filled", "partially_filled", "cancelled",
                   "rejected", "failed"):  # fmt: skip
        metrics.order_status(status=status, broker="paper")


def run() -> dict[str, float]:
    """Seed once, then time REQUESTS scrapes of ``/metrics`` after WARMUP."""
    seconds = seed()
    _busy_day()
    client = Client(HTTP_HOST="localhost")
    samples, size = [], 0
    for n in range(WARMUP + REQUESTS):
        began = time.perf_counter()
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        elapsed = (time.perf_counter() - began) * 1000
        assert response.status_code == 200, (response.status_code, response.content[:300])
        size = len(response.content)
        if n >= WARMUP:
            samples.append(elapsed)
    body = response.content.decode()
    assert f'strategy="{MARKER}-{STRATEGIES - 1}"' in body and f"{MARKER}-bt-" not in body
    p50, p95 = _percentiles(samples)
    return {
        "metrics_scrape_ms_p50": p50,
        "metrics_scrape_ms_p95": p95,
        "metrics_scrape_kb": round(size / 1024, 1),
        "metrics_bench_seed_s": seconds,
    }
