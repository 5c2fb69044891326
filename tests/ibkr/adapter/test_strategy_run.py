"""A whole strategy run with ``BROKER=ibkr``: bars from the simulator into the store, the
model's answer from a loopback LLM server, the bracket to the simulator, fills recorded."""

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from apps.ibkr.connection import IbkrConnection
from apps.marketdata.models import Bar
from apps.orders.models import Fill, Order
from apps.pipeline.executor import strategy_run
from tests.factories import StrategyFactory, SymbolFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.strategies.live import grant_live_trading

pytestmark = pytest.mark.django_db(transaction=True)
GOOG_CONID = 208813720
AS_OF = datetime(2013, 3, 2, 1, tzinfo=UTC)  # after the last shipped bar closed (806.19)


def test_live_run_goes_through_six_steps_at_the_simulator(
    simulator: Any, connection: IbkrConnection, llm_server: Any
) -> None:
    # given a live GOOG strategy with an empty bar store and a model that buys at market
    symbol = SymbolFactory.create(symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ")
    strategy = StrategyFactory.create(
        symbol=symbol,
        analyst="openai",
        order_type="MKT",
        trading_mode="live",
        approval="none",  # a live strategy waits for approval by default; this one goes out
        lookback=120,
        owner=grant_live_trading(UserFactory.create()),  # the order step checks the permission
    )
    llm_server.answer_with(decision(entry=806.19, stop_loss=795.0, take_profit=830.0))
    # when it runs
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # then all six steps succeeded with the simulator's bars and the simulator's fill
    assert run.status == "succeeded", run.error_message
    steps = [(s.name, s.status) for s in run.steps.order_by("sequence")][:6]
    assert steps == [
        (name, "succeeded") for name in ("data", "indicators", "charts", "llm", "signal", "order")
    ]
    data = run.steps.get(name="data").output
    assert data["provider"] == "ibkr" and data["last_close"] == "806.19000000"
    assert Bar.objects.filter(symbol=symbol).count() >= 120
    order_step = run.steps.get(name="order").output
    assert order_step["broker"] == "ibkr"
    entry = Order.objects.get(run=run, role="entry")
    deadline = time.monotonic() + 5
    while Order.objects.get(pk=entry.pk).status != "filled":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert Fill.objects.get(order=entry).price == Decimal("806.19")
    assert {o["ref"] for o in order_step["orders"]} == {o["order_ref"] for o in simulator.orders()}
