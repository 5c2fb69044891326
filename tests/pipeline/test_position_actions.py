"""Signals on a held position, through whole runs on the shipped GOOG daily bars: close,
reverse (the new bracket only after the close filled), scale-in, and the model's intent
checked against the position."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from apps.lineage.models import Run
from apps.orders.models import Order, PaperOrder, PositionAction
from apps.orders.monitor import orders_monitor
from apps.pipeline.executor import strategy_run
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import (
    BarFactory,
    PromptTemplateFactory,
    StrategyFactory,
    StrategyPositionFactory,
)
from tests.factories import decision_answer as decision

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # last closed bar 2012-05-31 (580.86); next opens 571.79
AFTER_LAST_BAR = datetime(2013, 3, 4, tzinfo=UTC)  # the store ends 2013-03-01 (close 806.19)
SELL = {"action": "SELL", "entry": 580.86, "stop_loss": 590.0, "take_profit": 560.0}
D = Decimal


def long_strategy(goog: Symbol, held: str = "50", **fields: Any) -> Strategy:
    """An OpenAI-analyst strategy on GOOG holding ``held`` long at 560 (no orders behind it)."""
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", **fields)
    StrategyPositionFactory.create(strategy=strategy, quantity=D(held), average_cost=D("560"))
    return strategy


def run_answering(
    strategy: Strategy, llm_server: Any, answer: dict[str, Any], as_of: datetime = AS_OF
) -> Run:
    llm_server.answer_with(answer)
    return strategy_run(strategy=strategy, as_of=as_of, trigger="manual")


def test_a_sell_while_long_closes_the_position_at_market(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog)

    run = run_answering(strategy, llm_server, decision(**SELL))

    assert run.status == "succeeded", run.error_message
    signal = Signal.objects.get(run=run)
    assert (signal.status, signal.position_action) == ("accepted", "close")
    [exit_order] = Order.objects.filter(run=run)
    assert (exit_order.role, exit_order.reason, exit_order.side) == ("exit", "close", "SELL")
    assert (exit_order.quantity, exit_order.status) == (D(50), "filled")
    # sold at the next open 571.79 less a tick of slippage; 1.00 minimum commission
    assert exit_order.avg_fill_price == D("571.78")
    position = StrategyPosition.objects.get(strategy=strategy)
    assert (position.status, position.quantity) == ("closed", D(0))
    assert position.realized_pnl == D("588")  # 50 × (571.78 − 560) − 1.00
    action = PositionAction.objects.get(run=run)
    assert (action.kind, action.status, action.strategy_position_id) == (
        "close",
        "done",
        position.pk,
    )
    order_step = run.steps.get(name="order")
    assert order_step.output["position_action"] == action.pk
    assert [o["reason"] for o in order_step.output["orders"]] == ["close"]


def test_a_reverse_closes_first_and_opens_the_short_bracket_after_the_fill(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = long_strategy(goog, opposite_signal="reverse")

    run = run_answering(strategy, llm_server, decision(**SELL))

    assert run.status == "succeeded", run.error_message
    orders = {o.role: o for o in Order.objects.filter(run=run)}
    assert set(orders) == {"exit", "entry", "take_profit", "stop_loss"}
    exit_order, entry = orders["exit"], orders["entry"]
    assert (exit_order.reason, exit_order.status) == ("reverse", "filled")
    assert {o.reason for r, o in orders.items() if r != "exit"} == {"reverse"}
    # the new entry reached the book only once the close had filled: never both at once
    paper_entry = PaperOrder.objects.get(client_order_ref=entry.client_order_ref)
    assert exit_order.filled_at is not None and paper_entry.accepted_at >= exit_order.filled_at
    assert (entry.side, entry.status) == ("SELL", "filled")
    # the long closed; a short lifetime opened by the new entry (its stop or target may
    # since have closed it on the later stored bars)
    positions = StrategyPosition.objects.filter(strategy=strategy).order_by("pk")
    assert (positions[0].side, positions[0].status) == ("LONG", "closed")
    assert [p.side for p in positions] == ["LONG", "SHORT"]
    assert positions[1].entry_quantity == entry.quantity
    action = PositionAction.objects.get(run=run)
    assert action.detail["then"]["state"] == "sent"


def test_a_reverse_waits_for_its_close_and_the_monitor_sends_the_bracket(
    goog: Symbol, llm_server: Any
) -> None:
    # after the last stored bar nothing fills: the close waits at the paper book
    strategy = long_strategy(goog, opposite_signal="reverse")
    sell_high = {**SELL, "entry": 806.19, "stop_loss": 815.0, "take_profit": 780.0}

    run = run_answering(strategy, llm_server, decision(**sell_high), as_of=AFTER_LAST_BAR)

    assert run.status == "succeeded", run.error_message
    assert list(Order.objects.filter(run=run).values_list("role", "status")) == [
        ("exit", "submitted")
    ]
    action = PositionAction.objects.get(run=run)
    assert action.detail["then"]["state"] == "waiting"
    orders_monitor(now=AFTER_LAST_BAR)
    assert Order.objects.filter(run=run).count() == 1  # still no bar: still waiting

    # when the next bar arrives, the close fills and the short bracket goes out
    BarFactory.create(
        symbol=goog, bar_size="1 day", ts=AFTER_LAST_BAR, open=D("805"), high=D("806"),
        low=D("800"), close=D("801"), volume=1000,
    )  # fmt: skip
    orders_monitor(now=AFTER_LAST_BAR + timedelta(days=1))

    roles = dict(Order.objects.filter(run=run).values_list("role", "status"))
    assert roles["exit"] == "filled" and roles["entry"] == "filled"
    action.refresh_from_db()
    assert action.detail["then"]["state"] == "sent"
    assert run.steps.filter(name="reverse").exists()


def test_a_buy_while_long_is_refused_when_scale_in_is_off(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog)

    run = run_answering(strategy, llm_server, decision())

    signal = Signal.objects.get(run=run)
    assert signal.status == "rejected"
    assert signal.rejection_reasons == ["already LONG 50 GOOG; scale-in is off for this strategy"]
    assert not Order.objects.exists()


def test_a_scale_in_adds_one_lone_entry_within_the_limits(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog, scale_in=True, max_scale_ins=1, max_position_quantity=D("80"))

    run = run_answering(strategy, llm_server, decision())

    assert run.status == "succeeded", run.error_message
    [entry] = Order.objects.filter(run=run)
    position = StrategyPosition.objects.get(strategy=strategy)
    # the position limit counts what is held: 80 − 50 = 30 more at most
    assert (entry.role, entry.reason, entry.quantity) == ("entry", "scale_in", D(30))
    assert entry.strategy_position_id == position.pk and entry.status == "filled"
    position.refresh_from_db()
    assert position.quantity == D(80) and position.status == "open"

    # an hour later (the scale-in's fill at the 2012-06-01 open is before it), again BUY
    later = AS_OF + timedelta(hours=1)
    second = run_answering(strategy, llm_server, decision(), as_of=later)
    signal = Signal.objects.get(run=second)
    assert signal.rejection_reasons == ["already LONG 80 GOOG; 1 of 1 scale-ins made"]


def test_an_intent_to_close_without_a_position_is_rejected(goog: Symbol, llm_server: Any) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")

    run = run_answering(strategy, llm_server, decision(**SELL, intent="close"))

    signal = Signal.objects.get(run=run)
    assert (signal.status, signal.intent) == ("rejected", "close")
    assert signal.rejection_reasons == ["intent close: flat in GOOG, nothing to close"]
    assert not Order.objects.exists()


def test_the_models_intent_reverse_overrides_the_close_setting(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = long_strategy(goog)  # opposite_signal: close (default)

    run = run_answering(strategy, llm_server, decision(**SELL, intent="reverse"))

    signal = Signal.objects.get(run=run)
    assert signal.position_action == "reverse"
    assert "reverse LONG 50 GOOG (the model's intent)" in [c["detail"] for c in signal.checks]
    assert Order.objects.filter(run=run, role="entry", reason="reverse").exists()


def test_a_past_dated_runs_prompt_and_sizing_see_the_position_as_of_then(
    goog: Symbol, llm_server: Any
) -> None:
    # given a strategy whose prompt shows its position, long since a fill on 2012-06-01 (its
    # stop 300 and target 1500 are never reached in the stored bars)
    template = PromptTemplateFactory.create(
        body="{{ symbol.symbol }} position {{ position.quantity }} "
        "realized {{ position.realized_pnl }}"
    )
    strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", prompt_template=template, max_position_quantity=D("80")
    )
    run_answering(strategy, llm_server, decision(stop_loss=300.0, take_profit=1500.0))
    assert StrategyPosition.objects.get(strategy=strategy).status == "open"

    # when a run is dated 2008, before that fill
    past = run_answering(strategy, llm_server, decision(entry=500.0, stop_loss=490.0,
                                                        take_profit=530.0),
                         as_of=datetime(2008, 6, 2, tzinfo=UTC))  # fmt: skip

    # then its prompt shows no position and no P&L from 2012, and the BUY sizes as from flat
    prompt = past.steps.get(name="llm").artifacts.get(kind="prompt").file.read().decode()
    assert prompt == "GOOG position 0.0 realized 0.0"
    signal = Signal.objects.get(run=past)
    assert "open: flat in GOOG" in [c["detail"] for c in signal.checks]


def test_no_new_entry_inside_the_end_of_day_window(goog: Symbol, llm_server: Any) -> None:
    # given GOOG on the Nasdaq calendar and strategies that close 30 min before its session end
    goog.trading_calendar = "XNAS"
    goog.save()
    window = datetime(2012, 5, 31, 19, 45, tzinfo=UTC)  # 15:45 New York, close at 16:00
    near = {"entry": 588.23, "stop_loss": 578.0, "take_profit": 610.0}  # last close 588.23
    flat = StrategyFactory.create(symbol=goog, analyst="openai", close_before_session_end_min=30)

    # when a flat strategy's model says BUY at 15:45, the entry is refused
    run = run_answering(flat, llm_server, decision(**near), as_of=window)
    signal = Signal.objects.get(run=run)
    assert signal.status == "rejected"
    assert signal.rejection_reasons == [
        "no new entry within 30 min of the session end at 2012-05-31T20:00:00+00:00 "
        "(end-of-day close)"
    ]
    # and a reverse only closes
    held = long_strategy(goog, opposite_signal="reverse", close_before_session_end_min=30)
    sell = {"action": "SELL", "entry": 588.23, "stop_loss": 598.0, "take_profit": 570.0}
    reversing = run_answering(held, llm_server, decision(**sell), as_of=window)
    assert Signal.objects.get(run=reversing).position_action == "close"
    assert [o.role for o in Order.objects.filter(run=reversing)] == ["exit"]
