"""The kill switch: halted lets no order out (the run still records its signal), reducing lets
only closes out, a halt refuses a close before the protection is touched; global vs account
state; the API, the command and the admin record who and why."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.orders.broker_selection import broker_named
from apps.orders.models import Order, PaperOrder, PositionAction
from apps.orders.position_actions import CloseRequest, position_close
from apps.orders.services import OrdersRefusedError, bracket_submit
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from apps.trading.models import Account, TradingStateChange
from apps.trading.trading_state import (
    TradingStateError,
    effective_trading_state,
    trading_state_set,
)
from tests.factories import StrategyFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.pipeline.test_position_actions import AS_OF, SELL, long_strategy, run_answering

pytestmark = pytest.mark.django_db
D = Decimal


def _api(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_halted_account_records_the_signal_and_skips_the_order_step(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    trading_state_set(
        state="halted", reason="broker maintenance", source="command", account=strategy.account
    )

    run = run_answering(strategy, llm_server, decision())

    assert run.status == "succeeded", run.error_message
    assert Signal.objects.get(run=run).status == "accepted"
    order_step = run.steps.get(name="order")
    assert order_step.status == "skipped"
    assert "trading halted (account): broker maintenance" in order_step.error_message + str(
        order_step.output
    )
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def test_a_global_halt_applies_to_every_account_but_a_backtests(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    backtest_account = Account.objects.create(name="bt", paper_clock=AS_OF)
    trading_state_set(state="halted", reason="incident 42", source="command")
    trading_state_set(
        state="reducing", reason="daily loss", source="trigger", account=strategy.account
    )

    applies = effective_trading_state(account_id=strategy.account_id)
    assert (applies.state, applies.scope, applies.reason) == ("halted", "global", "incident 42")
    assert effective_trading_state(account_id=backtest_account.pk).state == "active"

    trading_state_set(state="active", reason="incident over", source="command")
    applies = effective_trading_state(account_id=strategy.account_id)
    assert (applies.state, applies.scope, applies.reason) == ("reducing", "account", "daily loss")


def test_reducing_lets_a_close_out_and_rejects_an_entry(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog)
    trading_state_set(state="reducing", reason="drawdown", source="api", account=strategy.account)

    run = run_answering(strategy, llm_server, decision(**SELL))

    assert run.status == "succeeded", run.error_message
    [exit_order] = Order.objects.filter(run=run)
    assert (exit_order.role, exit_order.status) == ("exit", "filled")

    flat = StrategyFactory.create(symbol=goog, analyst="openai", account=strategy.account)
    entry_run = run_answering(flat, llm_server, decision())
    signal = Signal.objects.get(run=entry_run)
    assert signal.status == "rejected"
    assert signal.rejection_reasons == ["trading reducing (account): drawdown: no new entry"]
    assert not Order.objects.filter(run=entry_run).exists()


def test_reducing_turns_a_reverse_into_a_close(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog, opposite_signal="reverse")
    trading_state_set(state="reducing", reason="drawdown", source="api", account=strategy.account)

    run = run_answering(strategy, llm_server, decision(**SELL))

    signal = Signal.objects.get(run=run)
    assert (signal.status, signal.position_action) == ("accepted", "close")
    assert list(Order.objects.filter(run=run).values_list("role", flat=True)) == ["exit"]


def test_a_halt_refuses_a_close_before_touching_the_protection(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    position = StrategyPosition.objects.get(strategy=strategy)
    trading_state_set(state="halted", reason="stop", source="api", account=strategy.account)

    with pytest.raises(TradingStateError, match=re.escape("trading halted (account): stop")):
        position_close(position=position, request=CloseRequest(kind="person", market_time=AS_OF))

    assert not PositionAction.objects.exists() and not Order.objects.exists()


def test_a_bracket_sent_while_halted_is_rejected_unsent(goog: Symbol, llm_server: Any) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    run = run_answering(strategy, llm_server, decision())
    bracket = sorted(Order.objects.filter(run=run), key=lambda o: o.role != "entry")
    # the same bracket, pending again (as if created just before the halt)
    Order.objects.filter(run=run).delete()
    PaperOrder.objects.all().delete()
    for order in bracket:
        order.pk = None
        order.client_order_ref = f"{order.client_order_ref}-again"
        order.status = "pending"
        order.filled_quantity = D(0)
        order.avg_fill_price = None
        order.strategy_position = None
    parent = bracket[0]
    parent.save()
    for child in bracket[1:]:
        child.parent = parent
        child.save()
    trading_state_set(state="halted", reason="stop now", source="api")

    with pytest.raises(OrdersRefusedError, match=re.escape("trading halted (global): stop now")):
        bracket_submit(orders=bracket, broker=broker_named("paper"), market_time=AS_OF)

    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"rejected"}
    assert not PaperOrder.objects.exists()


def test_the_api_sets_states_with_who_and_why(goog: Symbol) -> None:
    owner = UserFactory.create(username="trader")
    stranger = UserFactory.create(username="stranger")
    staff = UserFactory.create(username="ops", is_staff=True)
    strategy = StrategyFactory.create(symbol=goog, owner=owner)
    url = f"/api/v1/accounts/{strategy.account_id}/trading-state/"

    assert _api(stranger).get(url).status_code == 404
    answer = _api(owner).post(url, {"state": "halted", "reason": "going on holiday"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["state"], body["effective_state"], body["effective_scope"]) == (
        "halted",
        "halted",
        "account",
    )
    assert body["changes"][0]["changed_by"] == "trader"
    assert body["changes"][0]["reason"] == "going on holiday"
    assert _api(owner).post(url, {"state": "halted", "reason": ""}).status_code == 400

    assert (
        _api(owner).post("/api/v1/trading-state/", {"state": "halted", "reason": "x"}).status_code
        == 403
    )
    answer = _api(staff).post("/api/v1/trading-state/", {"state": "reducing", "reason": "CPI"})
    assert answer.status_code == 200 and answer.json()["state"] == "reducing"
    glob = _api(owner).get("/api/v1/trading-state/").json()
    assert glob["state"] == "reducing" and glob["change"]["changed_by"] == "ops"
    change = TradingStateChange.objects.filter(account=None).get()
    assert (change.source, change.previous) == ("api", "active")


def test_the_command_and_the_admin_set_states(goog: Symbol, capsys: Any) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    call_command(
        "trading_state", "reducing", "--account", str(strategy.account_id), "--reason", "loss"
    )
    call_command("trading_state")
    out = capsys.readouterr().out
    assert "active → reducing (loss)" in out and f"account {strategy.account_id}" in out
    strategy.account.refresh_from_db()
    assert strategy.account.trading_state == "reducing"

    staff = UserFactory.create(username="admin1", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    response = client.post(
        "/admin/trading/tradingstatechange/add/",
        {"account": "", "state": "halted", "reason": "fire drill"},
    )
    assert response.status_code == 302, response.content[:2000]
    change = TradingStateChange.objects.filter(account=None).get()
    assert (change.state, change.source, change.changed_by) == ("halted", "admin", staff)
