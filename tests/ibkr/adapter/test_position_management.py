"""Position management through whole live runs at the TWS simulator (real ib_async): a
scale-in resizes the bracket's stop and target in place (the same orderIds modified, not new
orders), the stop is trailed in place, and a SELL while long closes the position."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.ibkr.connection import IbkrConnection
from apps.lineage.models import Run
from apps.orders.models import Fill, Order, OrderModification, PositionAction
from apps.orders.monitor import orders_monitor
from apps.pipeline.executor import strategy_run
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from tests.factories import StrategyFactory, SymbolFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.ibkr.adapter.helpers import wait_for
from tests.strategies.live import grant_live_trading

pytestmark = pytest.mark.django_db(transaction=True)
GOOG_CONID = 208813720
AS_OF = datetime(2013, 3, 2, 1, tzinfo=UTC)  # after the last shipped bar closed (806.19)
D = Decimal
BUY = {"entry": 806.19, "stop_loss": 795.0, "take_profit": 830.0}


def live_strategy(**fields: Any) -> Strategy:
    """A live GOOG market-order strategy on the simulator's account whose first BUY (entry
    806.19, stop 795) sizes to 100: 1 % of 112,000 = 1,120 at risk / 11.19 per share."""
    symbol = SymbolFactory.create(symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ")
    return StrategyFactory.create(
        symbol=symbol,
        analyst="openai",
        order_type="MKT",
        trading_mode="live",
        approval="none",  # a live strategy waits for approval by default; these go out
        lookback=120,
        owner=grant_live_trading(UserFactory.create()),
        capital=D("112000"),
        **fields,
    )


def run_answering(strategy: Strategy, llm_server: Any, answer: dict[str, Any]) -> Run:
    """The strategy's next run, a minute after its previous one from AS_OF on. A run sees only
    fills before its as-of and the simulator stamps fills with the wall clock, while its bars
    end in 2013: the strategy's fills so far are dated at AS_OF, as a live run would have seen
    them — before its own as-of."""
    llm_server.answer_with(answer)
    Fill.objects.filter(order__strategy=strategy).update(executed_at=AS_OF)
    as_of = AS_OF + timedelta(minutes=Run.objects.filter(strategy=strategy).count())
    run = strategy_run(strategy=strategy, as_of=as_of, trigger="manual")
    assert run.status == "succeeded", run.error_message
    return run


def filled(order_id: int) -> bool:
    return Order.objects.get(pk=order_id).status == "filled"


def test_a_scale_in_modifies_the_same_stop_and_target_to_the_whole_quantity(
    simulator: Any, connection: IbkrConnection, llm_server: Any
) -> None:
    # given a live strategy that bought 100 with its stop at 795 and target at 830 working
    strategy = live_strategy(scale_in=True, max_scale_ins=1, max_position_quantity=D("150"))
    first = run_answering(strategy, llm_server, decision(**BUY))
    entry = Order.objects.get(run=first, role="entry")
    assert entry.quantity == D(100)
    wait_for(lambda: filled(entry.pk))
    orders_monitor(now=AS_OF)
    stop = Order.objects.get(run=first, role="stop_loss")
    target = Order.objects.get(run=first, role="take_profit")
    before = {o.order_ref: o for o in simulator.orders()}

    # when the next run says BUY again (newer stop 798, target 835)
    second = run_answering(
        strategy, llm_server, decision(entry=806.19, stop_loss=798.0, take_profit=835.0)
    )

    # then one scale-in entry went out — 136 by risk (1,120 / 8.19), 50 under the position
    # limit of 150 — and filled into the same position
    [add] = Order.objects.filter(run=second)
    assert (add.role, add.reason, add.quantity) == ("entry", "scale_in", D(50))
    wait_for(lambda: filled(add.pk))
    orders_monitor(now=AS_OF)
    position = StrategyPosition.objects.get(strategy=strategy, status="open")
    assert position.quantity == D(150)
    # and the stop and target at the broker are the same orderIds, modified to 150
    after = {o.order_ref: o for o in simulator.orders()}
    for order, price_field, price in ((stop, "aux_price", D(798)), (target, "lmt_price", D(835))):
        held = after[order.client_order_ref]
        assert held.order_id == before[order.client_order_ref].order_id
        assert held.perm_id == before[order.client_order_ref].perm_id
        assert (held.quantity, held[price_field]) == (D(150), price)
        assert len(held.modifications) == 1
        order.refresh_from_db()
        assert (order.quantity, order.version) == (D(150), 1)
    assert simulator.place_count(stop.client_order_ref) == 2  # placed once, modified once
    action = PositionAction.objects.get(run=second)
    assert (action.kind, action.detail["exits"]["state"]) == ("scale_in", "done")
    assert OrderModification.objects.filter(action=action, status="acknowledged").count() == 2

    # and a third BUY is refused: 1 of 1 scale-ins made
    third = run_answering(strategy, llm_server, decision(**BUY))
    signal = Signal.objects.get(run=third)
    assert signal.rejection_reasons == ["already LONG 150 GOOG; 1 of 1 scale-ins made"]


def test_a_hold_trails_the_stop_in_place_only_when_it_tightens(
    simulator: Any, connection: IbkrConnection, llm_server: Any
) -> None:
    strategy = live_strategy(trail_stop=True, max_position_quantity=D("100"))
    first = run_answering(strategy, llm_server, decision(**BUY))
    entry = Order.objects.get(run=first, role="entry")
    wait_for(lambda: filled(entry.pk))
    orders_monitor(now=AS_OF)
    stop = Order.objects.get(run=first, role="stop_loss")

    # a HOLD whose stop is looser (790 < 795) keeps the stop
    loose = run_answering(
        strategy, llm_server, decision(action="HOLD", stop_loss=790.0, intent="adjust")
    )
    assert Signal.objects.get(run=loose).position_action == ""
    assert loose.steps.get(name="order").status == "skipped"

    # a HOLD whose stop tightens it (800: above 795, below the last close 806.19) moves it
    tight = run_answering(strategy, llm_server, decision(action="HOLD", stop_loss=800.0))
    assert Signal.objects.get(run=tight).position_action == "trail"
    stop.refresh_from_db()
    assert (stop.stop_price, stop.version, stop.status) == (D(800), 1, "submitted")
    [held] = [o for o in simulator.orders() if o.order_ref == stop.client_order_ref]
    assert held.aux_price == D(800) and len(held.modifications) == 1
    trail = tight.steps.get(name="order").output["trail"]
    assert trail == {"from": "795.00000000", "to": "800.00000000"}


def test_a_sell_while_long_closes_at_the_broker(
    simulator: Any, connection: IbkrConnection, llm_server: Any
) -> None:
    strategy = live_strategy(max_position_quantity=D("100"))
    first = run_answering(strategy, llm_server, decision(**BUY))
    entry = Order.objects.get(run=first, role="entry")
    wait_for(lambda: filled(entry.pk))
    orders_monitor(now=AS_OF)

    second = run_answering(
        strategy,
        llm_server,
        decision(action="SELL", entry=806.19, stop_loss=815.0, take_profit=790.0),
    )

    [exit_order] = Order.objects.filter(run=second)
    assert (exit_order.role, exit_order.reason, exit_order.quantity) == ("exit", "close", D(100))
    wait_for(lambda: filled(exit_order.pk))
    deadline = time.monotonic() + 5
    while StrategyPosition.objects.filter(strategy=strategy, status="open").exists():
        assert time.monotonic() < deadline
        orders_monitor(now=AS_OF)
    children = Order.objects.filter(run=first, role__in=("take_profit", "stop_loss"))
    assert set(children.values_list("status", flat=True)) == {"cancelled"}
    assert simulator.positions().get(GOOG_CONID, D(0)) == D(0)
