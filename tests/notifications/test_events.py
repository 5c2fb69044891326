"""Events notified at their sources: fills (entry, stop, target), a failed live run (not a
backtest's), a trading state change (account: owner and members; global: every user), an LLM
budget reached (once per period), a reconciliation mismatch (once, when flagged), and the
daily summary."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.analysis.models import LlmCall
from apps.lineage.models import Run
from apps.notifications.models import NotificationChannel, NotificationDelivery
from apps.notifications.services import channel_create
from apps.orders.models import Fill
from apps.pipeline.daily_summary import daily_summaries_notify
from apps.pipeline.executor import strategy_run
from apps.positions.reconciliation import account_positions_reconcile
from apps.strategies.models import Strategy
from apps.strategies.triggers import risk_triggers_check
from apps.symbols.models import Symbol
from apps.trading.trading_state import trading_state_set
from tests.api.helpers import AS_OF, baseline_run
from tests.factories import AccountFactory, StrategyFactory, UserFactory
from tests.factories import decision_answer as decision
from tests.llm_server import Reply
from tests.pipeline.test_position_actions import long_strategy
from tests.positions.test_reconciliation import Reported, two_strategies
from tests.trading.test_triggers import MORNING, NOON, _price_drop

pytestmark = pytest.mark.django_db
D = Decimal


def _listening(user: User, *events: str, name: str = "hook") -> NotificationChannel:
    return channel_create(owner=user, name=name, url="json://127.0.0.1:9/x", events=events)


def _said(event: str) -> list[tuple[str, str, str]]:
    """(owner, title, body) of the deliveries of ``event``, oldest first."""
    return [
        (d.channel.owner.username, d.title, d.body)
        for d in NotificationDelivery.objects.filter(event=event).order_by("id")
    ]


def test_a_fill_and_a_stop_are_notified_to_the_strategys_owner(goog: Symbol) -> None:
    owner, stranger = UserFactory.create(username="trader"), UserFactory.create()
    _listening(owner, "order_filled", "stop_hit", "target_hit")
    _listening(stranger, "order_filled", "stop_hit")

    baseline_run(goog, owner)  # SELL: the entry fills, then its stop

    [filled] = _said("order_filled")
    assert filled[0] == "trader" and filled[1].startswith("GOOG order filled: SELL")
    [stop] = _said("stop_hit")
    assert stop[0] == "trader" and stop[1].startswith("GOOG stop-loss hit: BUY")
    assert "realized P&L" in stop[2]
    assert _said("target_hit") == []


def test_a_failed_live_run_is_notified_and_a_backtest_run_is_not(
    goog: Symbol, llm_server: Any
) -> None:
    owner = UserFactory.create(username="runner")
    _listening(owner, "run_failed")
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", owner=owner)
    llm_server.answer_with(Reply(status=400, content="model not found"))

    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")

    assert run.status == "failed"
    [(who, title, body)] = _said("run_failed")
    assert who == "runner" and title == f"Run {run.pk} of {strategy.name} failed"
    assert run.error_message in body

    backtest = strategy_run(strategy=strategy, as_of=AS_OF, trigger="backtest")
    assert backtest.status == "failed"
    assert len(_said("run_failed")) == 1


def test_a_trading_state_change_tells_the_accounts_people_and_a_global_one_everyone() -> None:
    owner, member, stranger = (UserFactory.create(username=n) for n in ("own", "mem", "str"))
    for user in (owner, member, stranger):
        _listening(user, "trading_state_changed")
    account = AccountFactory.create(owner=owner)
    account.members.add(member)

    trading_state_set(
        state="halted", reason="broker maintenance", source="api", account=account, by=owner
    )

    said = _said("trading_state_changed")
    assert sorted(who for who, _, _ in said) == ["mem", "own"]
    assert said[0][1] == f"Trading halted (account {account.name})"
    assert "from active to halted by own (api): broker maintenance" in said[0][2]

    trading_state_set(state="reducing", reason="fed day", source="command")
    assert sorted(who for who, _, _ in _said("trading_state_changed")[2:]) == ["mem", "own", "str"]


def test_a_reached_budget_is_notified_once_per_period(goog: Symbol, llm_server: Any) -> None:
    owner = UserFactory.create(username="spender")
    _listening(owner, "budget_reached")
    strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", owner=owner, llm_budget_daily_usd=D("0.05")
    )
    llm_server.answer_with(decision())
    first = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    LlmCall.objects.filter(run=first).update(cost_usd=D("0.05"))

    for _ in range(2):
        failed = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
        assert failed.status == "failed" and "LlmBudgetReachedError" in failed.error_message

    [(who, title, body)] = _said("budget_reached")
    assert (who, title) == ("spender", f"LLM day budget reached (strategy): {strategy.name}")
    assert "the strategy's day budget is 0.05 USD" in body


def test_a_reconciliation_mismatch_is_notified_when_first_flagged() -> None:
    owner = UserFactory.create(username="holder")
    _listening(owner, "reconciliation_mismatch")
    account = AccountFactory.create(owner=owner)
    symbol_id, _ = two_strategies(account)  # net long 40
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)

    for minutes in (0, 1):
        account_positions_reconcile(
            account_id=account.pk,
            positions=[Reported(symbol_id, "NET", D(55))],
            now=now + timedelta(minutes=minutes),
        )

    [(who, title, body)] = _said("reconciliation_mismatch")
    assert who == "holder" and title.startswith(f"Position mismatch on {account.name}")
    assert "the broker holds 55 " in body and "15.0000 unattributed" in body


def test_the_daily_summary_counts_the_users_day(goog: Symbol) -> None:
    owner, idle = UserFactory.create(username="busy"), UserFactory.create(username="idle")
    _listening(owner, "daily_summary")
    _listening(idle, "daily_summary")
    run = baseline_run(goog, owner)
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now())
    now = timezone.now()
    Fill.objects.filter(order__run=run).update(executed_at=now - timedelta(minutes=1))
    pnl = sum(fill.realized_pnl for fill in Fill.objects.filter(order__run=run))

    assert daily_summaries_notify(now=now) == 2
    assert daily_summaries_notify(now=now) == 0  # once a day

    said = dict((who, body) for who, _, body in _said("daily_summary"))
    assert "Runs: 1 (1 succeeded)" in said["busy"]
    assert "Fills: 2" in said["busy"] and f"Realized P&L: {pnl:f} USD" in said["busy"]
    assert "Runs: none" in said["idle"] and "Fills: 0" in said["idle"]


def test_an_automatic_trigger_tells_the_owner_of_the_halt_and_of_the_deactivation(
    goog: Symbol, django_capture_on_commit_callbacks: Any
) -> None:
    strategy = long_strategy(goog)  # capital 100,000: equity 112,309.50
    owner = UserFactory.create(username="trader")
    _listening(owner, "trading_state_changed")
    Strategy.objects.filter(pk=strategy.pk).update(owner=owner, daily_loss_limit=D("5000"))
    account = strategy.account
    type(account).objects.filter(pk=account.pk).update(owner=owner, daily_loss_limit=D("5000"))
    risk_triggers_check(now=MORNING)
    _price_drop(goog, "700")  # −5,309.50

    with django_capture_on_commit_callbacks(execute=True):
        risk_triggers_check(now=NOON)

    said = _said("trading_state_changed")
    titles = sorted(title for _, title, _ in said)
    assert titles == sorted(
        [f"Trading halted (account {account.name})", f"Strategy {strategy.slug} deactivated"]
    ), said
    [deactivated] = [body for _, title, body in said if title.startswith("Strategy")]
    assert "automatic trigger (daily_loss)" in deactivated and "5,309.50" in deactivated
