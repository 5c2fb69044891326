"""Automatic triggers: a daily loss or a drawdown halts the account (or deactivates the
strategy), N failed runs in a row deactivate the strategy; each fires once, records who (the
system) and why (the limit and the figures), and nothing happens with the limits off."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.marketdata.models import Bar
from apps.orders.models import Order
from apps.orders.monitor import orders_monitor
from apps.pipeline import executor
from apps.pipeline.executor import strategy_run
from apps.pipeline.tasks import execute_run
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy, StrategyEquityMark
from apps.strategies.triggers import failed_runs_check, risk_triggers_check
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountEquityMark, TradingStateChange
from apps.trading.trading_state import trading_state_set
from apps.trading.triggers import account_limits_check
from tests.factories import StrategyFactory, StrategyPositionFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.pipeline.test_position_actions import AS_OF, SELL, long_strategy, run_answering

pytestmark = pytest.mark.django_db
D = Decimal
MORNING = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# GOOG's stored bars end 2013-03-01 at 806.19: the last price the system has.
LAST_CLOSE = D("806.19")


def _price_drop(goog: Symbol, close: str) -> None:
    """A new daily bar after the stored ones: GOOG now trades at ``close``."""
    Bar.objects.create(
        symbol=goog,
        bar_size="1 day",
        ts=datetime(2013, 3, 4, tzinfo=UTC),
        open=D(close),
        high=D(close),
        low=D(close),
        close=D(close),
        volume=D(1000),
    )


def _limits(account: Account, **limits: Any) -> Account:
    Account.objects.filter(pk=account.pk).update(**limits)
    account.refresh_from_db()
    return account


def test_a_daily_loss_halts_the_account_and_the_next_run_places_no_order(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = long_strategy(goog)  # 50 long at 560, marked at 806.19: +12,309.50 unrealized
    account = _limits(strategy.account, daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING)  # the day's first look: 1,012,309.50
    assert AccountEquityMark.objects.get(account=account).day_start_equity == D("1012309.5")

    # the position is sold at 571.78 (the run's next open), far below the last price
    run = run_answering(strategy, llm_server, decision(**SELL))
    assert Order.objects.get(run=run).status == "filled"
    orders_monitor(now=NOON)  # the monitor pass checks the limits after recording fills

    account.refresh_from_db()
    assert account.trading_state == "halted"
    change = TradingStateChange.objects.get(account=account)
    assert (change.previous, change.state, change.source) == ("active", "halted", "trigger")
    assert change.changed_by is None
    assert change.reason == (
        "automatic trigger: daily loss limit 5,000.00 USD reached: P&L since 2026-12-07 "
        "00:00 UTC is -11,721.50 USD (equity 1,000,588.00, at the day's start 1,012,309.50; "
        "realized + unrealized at the last price)"
    )

    flat = StrategyFactory.create(symbol=goog, analyst="openai", account=account)
    entry_run = run_answering(flat, llm_server, decision())
    assert entry_run.status == "succeeded", entry_run.error_message
    assert Signal.objects.get(run=entry_run).status == "accepted"
    order_step = entry_run.steps.get(name="order")
    assert order_step.status == "skipped"
    assert "daily loss limit 5,000.00 USD reached" in order_step.error_message + str(
        order_step.output
    )
    assert not Order.objects.filter(run=entry_run).exists()


def test_the_loss_counts_from_the_last_look_before_the_day_began(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING - timedelta(days=1))  # yesterday: 1,012,309.50
    _price_drop(goog, "700")  # overnight: 50 × (700 − 806.19) = −5,309.50

    risk_triggers_check(now=MORNING)

    account.refresh_from_db()
    assert account.trading_state == "halted"
    assert "P&L since 2026-12-07 00:00 UTC is -5,309.50 USD" in (
        TradingStateChange.objects.get(account=account).reason
    )


def test_a_loss_below_the_limit_halts_nothing(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, daily_loss_limit=D("5310"))
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "700")  # −5,309.50: just short of the limit

    risk_triggers_check(now=NOON)

    account.refresh_from_db()
    assert account.trading_state == "active"
    assert not TradingStateChange.objects.exists()
    mark = AccountEquityMark.objects.get(account=account)
    assert mark.equity - mark.day_start_equity == D("-5309.5")


def test_a_drawdown_halts_once_and_a_resumed_account_is_not_halted_again_by_it(
    goog: Symbol,
) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, max_drawdown_pct=D("1"))
    risk_triggers_check(now=MORNING - timedelta(days=3))  # high-water mark 1,012,309.50
    _price_drop(goog, "560")  # back to cost: equity 1,000,000.00

    report = risk_triggers_check(now=MORNING)
    again = risk_triggers_check(now=NOON)

    account.refresh_from_db()
    assert account.trading_state == "halted"
    [event] = report.events
    assert (event.kinds, event.scope, event.subject_id) == (("drawdown",), "account", account.pk)
    assert not again.events
    change = TradingStateChange.objects.get(account=account)
    assert change.reason == (
        "automatic trigger: max drawdown 1% reached: equity 1,000,000.00 USD is 1.22% below "
        "its high-water mark 1,012,309.50 USD"
    )

    trading_state_set(state="active", reason="looked at it", source="api", account=account)
    risk_triggers_check(now=NOON + timedelta(hours=1))
    account.refresh_from_db()
    assert account.trading_state == "active"  # the high-water mark restarted at the firing

    latest_bar = Bar.objects.filter(symbol=goog).order_by("-ts").first()
    assert latest_bar is not None
    Bar.objects.filter(pk=latest_bar.pk).update(close=D("300"))  # −13,000: 1.3%
    risk_triggers_check(now=NOON + timedelta(hours=2))
    account.refresh_from_db()
    assert account.trading_state == "halted"
    assert TradingStateChange.objects.filter(account=account, source="trigger").count() == 2


def test_an_account_already_halted_by_an_operator_records_nothing_more(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, daily_loss_limit=D("1000"))
    risk_triggers_check(now=MORNING)
    trading_state_set(state="halted", reason="maintenance", source="api", account=account)
    _price_drop(goog, "700")

    assert not risk_triggers_check(now=NOON).events
    assert TradingStateChange.objects.get(account=account).reason == "maintenance"


def test_limits_off_by_default_change_nothing(goog: Symbol, llm_server: Any) -> None:
    strategy = long_strategy(goog)
    risk_triggers_check(now=MORNING)
    run_answering(strategy, llm_server, decision(**SELL))
    _price_drop(goog, "100")

    report = orders_monitor(now=NOON)

    strategy.refresh_from_db()
    assert strategy.account.trading_state == "active" and strategy.is_active
    assert not TradingStateChange.objects.exists()
    assert not AccountEquityMark.objects.exists() and not StrategyEquityMark.objects.exists()
    assert not report.errors


def test_a_backtests_account_is_never_checked(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, daily_loss_limit=D("1"), paper_clock=AS_OF)
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "100")

    assert account_limits_check(account_id=account.pk, now=NOON) is None
    account.refresh_from_db()
    assert account.trading_state == "active" and not AccountEquityMark.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_passes_fire_once(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    account = _limits(strategy.account, daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "600")  # −10,309.50
    start = threading.Barrier(4)
    fired: list[int] = []

    def one_pass() -> None:
        try:
            start.wait()
            fired.append(len(risk_triggers_check(now=NOON).events))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one_pass) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(fired) == [0, 0, 0, 1]
    assert TradingStateChange.objects.filter(account=account).count() == 1


def test_a_strategys_daily_loss_deactivates_it_with_the_reason(goog: Symbol) -> None:
    strategy = long_strategy(goog)  # capital 100,000: equity 112,309.50
    Strategy.objects.filter(pk=strategy.pk).update(daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "700")  # −5,309.50

    report = risk_triggers_check(now=NOON)

    strategy.refresh_from_db()
    assert not strategy.is_active and strategy.next_run_at is None
    assert strategy.auto_deactivated_at == NOON
    assert strategy.auto_deactivation_reason == (
        "automatic trigger: daily loss limit 5,000.00 USD reached: P&L since 2026-12-07 "
        "00:00 UTC is -5,309.50 USD (equity 107,000.00, at the day's start 112,309.50; "
        "realized + unrealized at the last price)"
    )
    assert [(e.scope, e.subject) for e in report.events] == [("strategy", strategy.slug)]
    assert strategy.account.trading_state == "active"  # the account has its own limits
    assert not risk_triggers_check(now=NOON + timedelta(minutes=1)).events


def test_a_paused_strategys_losses_do_not_deactivate_it_once_re_activated(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    Strategy.objects.filter(pk=strategy.pk).update(daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING - timedelta(days=2))  # 112,309.50
    Strategy.objects.filter(pk=strategy.pk).update(is_active=False)  # paused by its owner
    _price_drop(goog, "700")  # −5,309.50 while paused
    assert not risk_triggers_check(now=MORNING - timedelta(days=1)).events  # inactive: seen only

    Strategy.objects.filter(pk=strategy.pk).update(is_active=True)
    assert not risk_triggers_check(now=MORNING).events  # today starts at 107,000.00

    strategy.refresh_from_db()
    assert strategy.is_active and strategy.auto_deactivated_at is None
    mark = StrategyEquityMark.objects.get(strategy=strategy)
    assert (mark.day_start_equity, mark.equity) == (D("107000"), D("107000"))


def test_a_strategys_drawdown_is_of_its_capital_and_pnl(goog: Symbol) -> None:
    strategy = long_strategy(goog)
    Strategy.objects.filter(pk=strategy.pk).update(max_drawdown_pct=D("10"))
    risk_triggers_check(now=MORNING)  # high-water mark 112,309.50
    _price_drop(goog, "560")  # 100,000: 10.96% below

    [event] = risk_triggers_check(now=NOON).events

    assert event.kinds == ("drawdown",)
    strategy.refresh_from_db()
    assert not strategy.is_active
    assert "equity 100,000.00 USD is 10.96% below its high-water mark 112,309.50 USD" in (
        strategy.auto_deactivation_reason
    )


def _failing_run(strategy: Strategy) -> Run:
    """A run as of 1990, before GOOG's first bar: its data step fails."""
    run = strategy_run(
        strategy=strategy, as_of=datetime(1990, 1, 2, tzinfo=UTC), trigger="schedule"
    )
    assert run.status == "failed"
    return run


def _succeeding_run(strategy: Strategy) -> Run:
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="schedule")
    assert run.status == "succeeded", run.error_message
    return run


def test_n_failed_runs_in_a_row_deactivate_the_strategy_and_a_success_resets_the_count(
    goog: Symbol,
) -> None:
    strategy = StrategyFactory.create(symbol=goog, max_failed_runs=3)

    _failing_run(strategy)
    _failing_run(strategy)
    _succeeding_run(strategy)  # resets the count
    _failing_run(strategy)
    _failing_run(strategy)
    strategy.refresh_from_db()
    assert strategy.is_active and strategy.auto_deactivated_at is None

    last = _failing_run(strategy)

    strategy.refresh_from_db()
    assert not strategy.is_active
    assert strategy.auto_deactivated_at == last.finished_at
    assert strategy.auto_deactivation_reason.startswith(
        f"automatic trigger: 3 failed runs in a row (limit 3); the latest, run {last.pk}: data: "
    )
    # fires once: checking the same run again changes nothing
    assert failed_runs_check(run=last) is None


def test_a_reactivated_strategy_gets_fresh_runs(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog, max_failed_runs=2)
    _failing_run(strategy)
    _failing_run(strategy)
    strategy.refresh_from_db()
    assert not strategy.is_active
    Strategy.objects.filter(pk=strategy.pk).update(is_active=True)

    _failing_run(strategy)

    strategy.refresh_from_db()
    assert strategy.is_active  # one failure since the deactivation, not three


def test_failed_runs_off_by_default_and_backtests_never_count(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    for _ in range(3):
        _failing_run(strategy)
    strategy.refresh_from_db()
    assert strategy.is_active

    Strategy.objects.filter(pk=strategy.pk).update(max_failed_runs=1)
    strategy.refresh_from_db()
    for _ in range(2):
        run = strategy_run(
            strategy=strategy, as_of=datetime(1990, 1, 2, tzinfo=UTC), trigger="backtest"
        )
        assert run.status == "failed"
    strategy.refresh_from_db()
    assert strategy.is_active and strategy.auto_deactivated_at is None


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_sets_and_shows_the_limits_to_the_owner_only(goog: Symbol) -> None:
    owner = UserFactory.create(username="trader")
    stranger = UserFactory.create(username="stranger")
    strategy = StrategyFactory.create(symbol=goog, owner=owner)
    account_url = f"/api/v1/accounts/{strategy.account_id}/"
    strategy_url = f"/api/v1/strategies/{strategy.pk}/"

    assert _client(stranger).patch(account_url, {"daily_loss_limit": "1"}).status_code == 404
    assert _client(stranger).patch(strategy_url, {"max_failed_runs": 1}).status_code == 404
    refused = _client(owner).patch(account_url, {"max_drawdown_pct": "150"}, format="json")
    assert refused.status_code == 400 and "max_drawdown_pct" in refused.json()
    refused = _client(owner).patch(strategy_url, {"max_failed_runs": 0}, format="json")
    assert refused.status_code == 400 and "max_failed_runs" in refused.json()

    changed = _client(owner).patch(
        account_url, {"daily_loss_limit": "2500.50", "max_drawdown_pct": "12.5"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["daily_loss_limit"], changed.json()["max_drawdown_pct"]) == (
        "2500.50",
        "12.500",
    )
    changed = _client(owner).patch(
        strategy_url,
        {"daily_loss_limit": "800", "max_drawdown_pct": "20", "max_failed_runs": 4},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["daily_loss_limit"], body["max_drawdown_pct"], body["max_failed_runs"]) == (
        "800.00",
        "20.000",
        4,
    )
    assert (body["auto_deactivated_at"], body["auto_deactivation_reason"]) == (None, "")

    # a trigger's deactivation shows; the API cannot write it
    Strategy.objects.filter(pk=strategy.pk).update(daily_loss_limit=D("1"))
    long = StrategyPositionFactory.create(strategy=strategy, quantity=D(50), average_cost=D(560))
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "700")
    risk_triggers_check(now=NOON)
    assert StrategyPosition.objects.get(pk=long.pk).status == "open"
    shown = _client(owner).get(strategy_url).json()
    assert shown["is_active"] is False
    assert shown["auto_deactivated_at"] == "2026-12-07T12:00:00Z"
    assert shown["auto_deactivation_reason"].startswith("automatic trigger: daily loss limit")
    _client(owner).patch(strategy_url, {"auto_deactivation_reason": "forged"}, format="json")
    strategy.refresh_from_db()
    assert strategy.auto_deactivation_reason.startswith("automatic trigger")


def test_a_run_whose_worker_crashed_counts_as_failed(
    goog: Symbol, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an error the executor could not record (the database dropped mid-step, say) is failed by
    # the task (run_crash); that failure must count towards max_failed_runs like any other
    strategy = StrategyFactory.create(symbol=goog, max_failed_runs=1)
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF, trigger="schedule")

    def crash(run: Run, deadline: Any) -> Run:
        raise RuntimeError("connection to the database lost mid-step")

    monkeypatch.setattr(executor, "_steps_execute", crash)

    assert execute_run(run.pk) == "failed"

    strategy.refresh_from_db()
    assert not strategy.is_active
    assert strategy.auto_deactivation_reason == (
        f"automatic trigger: 1 failed runs in a row (limit 1); the latest, run {run.pk}: "
        "worker: RuntimeError: connection to the database lost mid-step"
    )
