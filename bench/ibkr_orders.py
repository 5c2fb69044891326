"""Issue 5's benchmark: an IBKR order's round trip through the TWS protocol simulator.

``ibkr_order_roundtrip_ms``: from handing a pending bracket (market entry, take-profit,
stop-loss) to ``bracket_submit`` until the entry's fill is recorded in PostgreSQL (Order row
``filled``, written by the execution/commission event handler), over loopback through the real
ib_async client. REPETITIONS brackets after WARMUP; the database is polled every 0.5 ms.

Brackets start PACE_S apart: each costs about six API messages (lookup: reqAllOpenOrders and
reqExecutions; three placeOrders; a poll), and TWS accepts at most 50 messages a second —
ib_async holds back anything above 45/s, which would measure its throttle, not the round trip.
The book keeps growing (every bracket's two children stay working), as an account's would.
The simulator runs as its own process (``manage.py tws_simulator``), as TWS would: in this
process it would compete for the interpreter lock with the client being measured.
"""

import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.test import override_settings

from apps.analysis.services import prompt_template_save
from apps.ibkr.gateway import ibkr_broker, ibkr_connection, ibkr_connection_close
from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.orders.models import Order, OrderStatus
from apps.orders.services import bracket_create, bracket_submit
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account

WARMUP = 5
REPETITIONS = 100
GOOG_CONID = 208813720
AS_OF = datetime(2013, 3, 1, 22, tzinfo=UTC)
POLL_S = 0.0005
PACE_S = 0.2
TICK = Decimal("0.01")


def live_bench_strategy(*, slug: str, name: str) -> Strategy:
    """A live MKT GTC strategy ``slug`` on GOOG (tick 0.01) trading the simulator's paper
    account ``DU123456``, with no runs left from an earlier bench (each bench starts a fresh
    simulator: earlier orders are not at this broker)."""
    symbol, _ = Symbol.objects.update_or_create(
        symbol="GOOG",
        sec_type="STK",
        currency="USD",
        defaults={"conid": GOOG_CONID, "timezone": "America/New_York", "min_tick": TICK},
    )
    template = prompt_template_save(owner=None, name="bench-ibkr", body="{{ symbol.symbol }}")
    # A live strategy trades an IBKR account: the simulator's paper account.
    account, _ = Account.objects.get_or_create(
        broker="ibkr", broker_account_id="DU123456", defaults={"name": "bench IBKR (simulator)"}
    )
    strategy, _ = Strategy.objects.update_or_create(
        slug=slug,
        defaults={
            "name": name,
            "symbol": symbol,
            "bar_size": "1 day",
            "prompt_template": template,
            "order_type": "MKT",
            "time_in_force": "GTC",
            "trading_mode": "live",
            "account": account,
        },
    )
    Run.objects.filter(strategy=strategy).delete()
    return strategy


def _pending_bracket(strategy: Strategy) -> list[Order]:
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    signal = Signal.objects.create(
        strategy=strategy,
        run=run,
        action="BUY",
        confidence=Decimal("0.8"),
        entry=Decimal("806.19"),
        stop_loss=Decimal("700"),
        take_profit=Decimal("900"),
        status="accepted",
    )
    return bracket_create(
        run=run, signal=signal, strategy=strategy, quantity=Decimal(1), broker_name="ibkr"
    )


def _roundtrip_ms(strategy: Strategy) -> float:
    orders = _pending_bracket(strategy)
    entry = Order.objects.filter(pk=orders[0].pk, status=OrderStatus.FILLED)
    started = time.perf_counter()
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)
    deadline = started + 10
    while not entry.exists():
        if time.perf_counter() > deadline:
            raise RuntimeError("the entry's fill was not recorded within 10 s")
        time.sleep(POLL_S)
    elapsed = time.perf_counter() - started
    time.sleep(max(PACE_S - elapsed, 0))
    return elapsed * 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextmanager
def simulator_process() -> Iterator[tuple[str, int]]:
    """Start ``manage.py tws_simulator --port 0``; yields its (host, port); stops it."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "tws_simulator", "--port", "0"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"listening on ([\d.]+):(\d+)", line)
        if not found:
            raise RuntimeError(f"tws_simulator did not start: {line!r}")
        yield found[1], int(found[2])
    finally:
        process.terminate()
        process.wait(timeout=10)


def run() -> dict[str, float]:
    """Return ``ibkr_order_roundtrip_ms_p50`` and ``_p95``."""
    strategy = live_bench_strategy(slug="bench-ibkr-roundtrip", name="bench ibkr")
    with simulator_process() as (host, port):
        overrides = {
            "IBKR_HOST": host,
            "IBKR_PORT": port,
            "IBKR_CLIENT_ID": 90,
            "IBKR_READONLY": False,
        }
        with override_settings(**overrides):
            ibkr_connection_close()
            try:
                ibkr_connection()
                samples = [_roundtrip_ms(strategy) for _ in range(WARMUP + REPETITIONS)]
            finally:
                ibkr_connection_close()
    measured = samples[WARMUP:]
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    return {
        "ibkr_order_roundtrip_ms_p50": round(statistics.median(measured), 2),
        "ibkr_order_roundtrip_ms_p95": round(_percentile(measured, 0.95), 2),
    }
