"""Issue 15's benchmark: modifying a working IBKR order through the TWS protocol simulator.

``ibkr_modify_roundtrip_ms``: from calling ``order_modify`` on a working stop-loss until it
returns with the modification acknowledged and recorded in PostgreSQL (the OrderModification
``acknowledged``, the Order holding the new stop and version): the row lock and the
``requested`` row committed, placeOrder on the same orderId, TWS's openOrder + orderStatus
with the new values, the acknowledgement and the lineage note committed. Over loopback
through the real ib_async client, against ``manage.py tws_simulator`` in its own process
(``bench.ibkr_orders.simulator_process``).

One bracket (BUY 1 GOOG at market, stop 700, target 900) is sent and filled; its stop is then
modified REPETITIONS times after WARMUP, each time one tick higher. Modifications start PACE_S
apart: each is one API message and ib_async holds back anything above 45 messages a second,
which would measure its throttle, not the round trip.
"""

import statistics
import time
from decimal import Decimal

from django.conf import settings
from django.test import override_settings

from apps.ibkr.gateway import ibkr_broker, ibkr_connection, ibkr_connection_close
from apps.lineage.services import run_create
from apps.orders.models import ModificationStatus, Order, OrderRole, OrderStatus
from apps.orders.modification import order_modify
from apps.orders.services import bracket_create, bracket_submit
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from bench.ibkr_orders import AS_OF, TICK, live_bench_strategy, simulator_process

WARMUP = 10
REPETITIONS = 200
PACE_S = 0.05


def _working_stop(strategy: Strategy) -> Order:
    """Send a BUY 1 market bracket, wait for its fill; returns its working stop-loss."""
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
    orders = bracket_create(
        run=run, signal=signal, strategy=strategy, quantity=Decimal(1), broker_name="ibkr"
    )
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)
    entry = Order.objects.filter(pk=orders[0].pk, status=OrderStatus.FILLED)
    deadline = time.perf_counter() + 10
    while not entry.exists():
        if time.perf_counter() > deadline:
            raise RuntimeError("the bracket's entry did not fill within 10 s")
        time.sleep(0.001)
    return Order.objects.get(run=run, role=OrderRole.STOP_LOSS)


def _modify_ms(stop: Order) -> float:
    assert stop.stop_price is not None
    started = time.perf_counter()
    modification = order_modify(order=stop, stop_price=stop.stop_price + TICK, market_time=AS_OF)
    elapsed = time.perf_counter() - started
    if modification.status != ModificationStatus.ACKNOWLEDGED:
        raise RuntimeError(f"modification v{modification.version} is {modification.status}")
    stop.refresh_from_db()
    time.sleep(max(PACE_S - elapsed, 0))
    return elapsed * 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> dict[str, float]:
    """Return ``ibkr_modify_roundtrip_ms_p50`` and ``_p95``."""
    strategy = live_bench_strategy(slug="bench-ibkr-modify", name="bench ibkr modify")
    with simulator_process() as (host, port):
        overrides = {
            "IBKR_HOST": host,
            "IBKR_PORT": port,
            "IBKR_CLIENT_ID": 91,
            "IBKR_READONLY": False,
            "BROKER": "ibkr",
        }
        with override_settings(**overrides):
            ibkr_connection_close()
            try:
                ibkr_connection()
                stop = _working_stop(strategy)
                samples = [_modify_ms(stop) for _ in range(WARMUP + REPETITIONS)]
            finally:
                ibkr_connection_close()
    measured = samples[WARMUP:]
    stop.refresh_from_db()
    if stop.version != WARMUP + REPETITIONS:
        raise RuntimeError(f"the stop is at version {stop.version}, not {WARMUP + REPETITIONS}")
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    return {
        "ibkr_modify_roundtrip_ms_p50": round(statistics.median(measured), 2),
        "ibkr_modify_roundtrip_ms_p95": round(_percentile(measured, 0.95), 2),
    }
