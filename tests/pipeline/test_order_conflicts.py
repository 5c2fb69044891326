"""The account's conflict policy, decided by the order step under the (account, symbol) lock:
several strategies on one account and symbol, on the paper broker and real PostgreSQL."""

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections, transaction

from apps.lineage.models import Run, Step
from apps.lineage.services import run_create, run_start, step_record
from apps.orders.brokers import Execution
from apps.orders.conflicts import (
    bracket_withdraw,
    conflict_facts,
    conflict_lost,
    entry_displace,
    entry_place,
)
from apps.orders.models import Order, PaperOrder
from apps.orders.paper_broker import PaperBroker
from apps.orders.services import bracket_submit, orders_apply
from apps.orders.sizing import SizingResult
from apps.pipeline.context import RunContext
from apps.pipeline.executor import strategy_run
from apps.pipeline.steps import order as step_order
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.locks import account_symbols_lock
from apps.trading.models import Account, AccountSymbol
from tests.db_locks import sessions_waiting_on_a_lock
from tests.factories import (
    AccountFactory,
    SignalFactory,
    StrategyFactory,
    StrategyPositionFactory,
    SymbolFactory,
)
from tests.factories import decision_answer as decision

D = Decimal
AS_OF = datetime(2020, 1, 10, tzinfo=UTC)  # no bars: paper entries stay working, unfilled
CHECK = "account_conflict_policy"


def an_account(**policy: Any) -> Account:
    """A paper account with the given conflict policy fields."""
    return AccountFactory.create(**policy)


def a_symbol() -> Symbol:
    return SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))


def a_strategy(account: Account, symbol: Symbol) -> Strategy:
    """A LMT GTC strategy trading ``symbol`` on ``account`` (LMT: the paper broker needs no
    bar to accept it, and without later bars the entry stays working)."""
    return StrategyFactory.create(
        account=account, symbol=symbol, order_type="LMT", time_in_force="GTC"
    )


def order_step(
    strategy: Strategy, *, action: str = "BUY", quantity: str = "10", confidence: str = "0.8"
) -> tuple[RunContext, Step]:
    """Run the order step for a new run of ``strategy`` with an accepted signal (BUY: entry
    100, stop 95, target 110; SELL the mirror) sized to ``quantity``."""
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    assert run_start(run=run)
    prices = (
        {"entry": D("100"), "stop_loss": D("95"), "take_profit": D("110")}
        if action == "BUY"
        else {"entry": D("100"), "stop_loss": D("105"), "take_profit": D("90")}
    )
    signal = SignalFactory.create(
        run=run,
        strategy=strategy,
        action=action,
        confidence=D(confidence),
        checks=[{"name": "confidence", "passed": True, "detail": "ok"}],
        **prices,
    )
    q = D(quantity)
    ctx = RunContext(
        run=run, strategy=Strategy.objects.select_related("symbol").get(pk=strategy.pk)
    )
    ctx.signal = signal
    ctx.sizing = SizingResult(
        quantity=q, risk_amount=q * 5, by_risk=q, by_position_limit=q, by_notional=q
    )
    with step_record(run=run, name="order", sequence=6, step_input={}) as recorder:
        step_order.run(ctx, recorder)
    return ctx, Step.objects.get(run=run, name="order")


def entry_of(ctx: RunContext) -> Order | None:
    return Order.objects.filter(run=ctx.run, role="entry").first()


def conflict_check(ctx: RunContext) -> dict[str, Any]:
    assert ctx.signal is not None
    signal = Signal.objects.get(pk=ctx.signal.pk)
    return next(c for c in signal.checks if c["name"] == CHECK)


def assert_refused(ctx: RunContext, step: Step, *texts: str) -> None:
    """No order, the signal rejected with the failed check, the step's output says why and
    the run stops (not a failure)."""
    assert ctx.signal is not None
    signal = Signal.objects.get(pk=ctx.signal.pk)
    assert not Order.objects.filter(run=ctx.run).exists()
    assert not PaperOrder.objects.filter(
        client_order_ref__startswith=f"sibyl-{ctx.run.pk}-"
    ).exists()
    assert signal.status == "rejected"
    check = conflict_check(ctx)
    assert check["passed"] is False
    assert check["detail"] in signal.rejection_reasons
    for text in texts:
        assert text in check["detail"], check["detail"]
    assert step.status == "succeeded"
    assert step.output["conflict_check"] == check
    assert ctx.stop_reason.startswith("conflict policy refused the signal: no order")


def assert_sent(ctx: RunContext, step: Step, quantity: str = "10") -> Order:
    entry = entry_of(ctx)
    assert entry is not None and entry.status == "submitted", entry
    assert entry.quantity == D(quantity)
    check = conflict_check(ctx)
    assert check["passed"] is True
    assert step.output["conflict_check"] == check
    assert not ctx.stop_reason
    return entry


@pytest.mark.django_db
class TestSameDirection:
    def test_accumulate_caps_to_the_account_max_then_refuses(self) -> None:
        # given an account allowing 25 per symbol; another strategy holds 10 long, a third works 5
        account, symbol = an_account(max_position_per_symbol=D("25")), a_symbol()
        StrategyPositionFactory.create(strategy=a_strategy(account, symbol), quantity=D("10"))
        order_step(a_strategy(account, symbol), quantity="5")
        # when a new strategy asks for 20, it goes out with the 10 left
        ctx, step = order_step(a_strategy(account, symbol), quantity="20")
        assert_sent(ctx, step, quantity="10")
        assert "capped from 20 to 10" in conflict_check(ctx)["detail"]
        assert "15 held or working on LONG of max 25" in conflict_check(ctx)["detail"]
        # and the next finds no room
        ctx, step = order_step(a_strategy(account, symbol), quantity="1")
        assert_refused(ctx, step, "25 held or working on LONG of max 25, no room")

    def test_accumulate_without_a_max_allows_duplicates(self) -> None:
        account, symbol = an_account(), a_symbol()
        order_step(a_strategy(account, symbol))
        ctx, step = order_step(a_strategy(account, symbol), quantity="1000")
        assert_sent(ctx, step, quantity="1000")

    def test_reject_duplicates_refuses_while_another_strategy_works_or_holds_the_side(
        self,
    ) -> None:
        account, symbol = an_account(same_direction_policy="reject_duplicates"), a_symbol()
        order_step(a_strategy(account, symbol))
        ctx, step = order_step(a_strategy(account, symbol))
        assert_refused(ctx, step, "works LONG 10", "reject_duplicates")
        # a held position refuses too (another symbol on the same account is no conflict)
        holder = a_strategy(account, a_symbol())
        StrategyPositionFactory.create(strategy=holder, quantity=D("3"))
        ctx, step = order_step(a_strategy(account, holder.symbol))
        assert_refused(ctx, step, f"{holder.name} holds LONG 3")

    def test_strongest_wins_a_stronger_newcomer_displaces_the_unfilled_entry(self) -> None:
        account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
        weaker, _ = order_step(a_strategy(account, symbol), confidence="0.7")
        ctx, step = order_step(a_strategy(account, symbol), confidence="0.9")
        assert_sent(ctx, step)
        assert "displaces the unfilled entries" in conflict_check(ctx)["detail"]
        # the weaker bracket is cancelled at the broker, every order of it
        for order in Order.objects.filter(run=weaker.run):
            assert order.status == "cancelled", order
        assert set(
            PaperOrder.objects.filter(
                client_order_ref__startswith=f"sibyl-{weaker.run.pk}-"
            ).values_list("status", flat=True)
        ) == {"cancelled"}
        entry = entry_of(weaker)
        assert entry is not None and "displaced by the stronger signal" in entry.error_message

    def test_strongest_wins_a_weaker_or_equal_newcomer_is_refused(self) -> None:
        account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
        strong = a_strategy(account, symbol)
        first, _ = order_step(strong, confidence="0.8")
        for confidence in ("0.7", "0.8"):
            ctx, step = order_step(a_strategy(account, symbol), confidence=confidence)
            assert_refused(ctx, step, f"{strong.name}'s unfilled entry", "stronger or equal")
        assert entry_of(first) is not None and entry_of(first).status == "submitted"  # type: ignore[union-attr]

    def test_strongest_wins_never_takes_a_held_position_away(self) -> None:
        account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
        holder = a_strategy(account, symbol)
        StrategyPositionFactory.create(strategy=holder, quantity=D("10"))
        ctx, step = order_step(a_strategy(account, symbol), confidence="0.99")
        assert_refused(ctx, step, f"{holder.name} holds LONG 10", "never taken away")

    def test_per_symbol_override_beats_the_account_value(self) -> None:
        # the account accumulates; this symbol rejects duplicates, another keeps the account's
        account, symbol, other = an_account(), a_symbol(), a_symbol()
        AccountSymbol.objects.create(
            account=account, symbol=symbol, same_direction_policy="reject_duplicates"
        )
        AccountSymbol.objects.create(account=account, symbol=other, same_direction_policy="")
        order_step(a_strategy(account, symbol))
        ctx, step = order_step(a_strategy(account, symbol))
        assert_refused(ctx, step, "reject_duplicates")
        order_step(a_strategy(account, other))
        ctx, step = order_step(a_strategy(account, other))
        assert_sent(ctx, step)

    def test_per_symbol_max_overrides_the_account_max(self) -> None:
        account, symbol = an_account(max_position_per_symbol=D("1000")), a_symbol()
        AccountSymbol.objects.create(account=account, symbol=symbol, max_position_per_symbol=D("4"))
        ctx, step = order_step(a_strategy(account, symbol), quantity="10")
        assert_sent(ctx, step, quantity="4")


@pytest.mark.django_db
class TestOppositeDirection:
    def test_netting_reject_refuses_the_opposite_side_of_another_strategy(self) -> None:
        account, symbol = an_account(position_mode="netting", opposite_policy="reject"), a_symbol()
        long_holder = a_strategy(account, symbol)
        StrategyPositionFactory.create(strategy=long_holder, quantity=D("10"))
        ctx, step = order_step(a_strategy(account, symbol), action="SELL")
        assert_refused(ctx, step, f"{long_holder.name} holds LONG 10", "on the opposite side")
        # a working opposite entry refuses too
        symbol2 = a_symbol()
        order_step(a_strategy(account, symbol2), action="SELL")
        ctx, step = order_step(a_strategy(account, symbol2), action="BUY")
        assert_refused(ctx, step, "works SHORT 10")

    def test_netting_allow_lets_the_opposite_side_go_out(self) -> None:
        account, symbol = an_account(position_mode="netting", opposite_policy="allow"), a_symbol()
        StrategyPositionFactory.create(strategy=a_strategy(account, symbol), quantity=D("10"))
        ctx, step = order_step(a_strategy(account, symbol), action="SELL")
        entry = assert_sent(ctx, step)
        assert entry.side == "SELL"

    def test_hedge_mode_always_allows_the_opposite_side(self) -> None:
        account, symbol = an_account(position_mode="hedge", opposite_policy="reject"), a_symbol()
        order_step(a_strategy(account, symbol), action="SELL")
        ctx, step = order_step(a_strategy(account, symbol), action="BUY")
        assert_sent(ctx, step)
        assert "opposite allowed (hedge)" in conflict_check(ctx)["detail"]


def _unsent_bracket(strategy: Strategy, confidence: str) -> Run:
    """A run of ``strategy`` whose pending bracket was created but not sent yet."""
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    signal = SignalFactory.create(run=run, strategy=strategy, confidence=D(confidence))
    placement = entry_place(
        run=run, signal=signal, strategy=strategy, quantity=D("10"), broker_name="paper"
    )
    assert [o.status for o in placement.orders] == ["pending"] * 3
    return run


@pytest.mark.django_db
def test_a_displaced_run_says_in_its_lineage_who_displaced_it_and_at_which_confidences() -> None:
    account = an_account(same_direction_policy="strongest_wins")
    # given one symbol where a weaker entry works at the broker (confidence 0.7), and another
    # where a weaker bracket is not sent yet (0.6)
    working_symbol, unsent_symbol = a_symbol(), a_symbol()
    working, _ = order_step(a_strategy(account, working_symbol), confidence="0.7")
    unsent_run = _unsent_bracket(a_strategy(account, unsent_symbol), "0.6")
    for symbol, run, weak in (
        (working_symbol, working.run, "0.7"),
        (unsent_symbol, unsent_run, "0.6"),
    ):
        # when a stronger strategy's run goes out at 0.9
        stronger = a_strategy(account, symbol)
        ctx, step = order_step(stronger, confidence="0.9")
        assert_sent(ctx, step)
        # then the displaced run's orders and its "displaced" note name the stronger strategy
        # and both confidences
        reason = (
            f"displaced by the stronger signal of {stronger.name} "
            f"(strongest_wins, confidence 0.9 vs {weak})"
        )
        orders = list(Order.objects.filter(run=run))
        assert len(orders) == 3
        for order in orders:
            assert order.status == "cancelled" and reason in order.error_message, order
        note = Step.objects.get(run=run, name="displaced")
        assert note.status == "succeeded"
        assert note.output["reason"] == reason
        assert (note.output["displaced_by"], note.output["confidence"]) == (stronger.name, "0.9")
        assert note.output["displaced_confidence"] == weak
        assert set(note.output["orders"].values()) == {"cancelled"}
        assert not Step.objects.filter(run=ctx.run, name="displaced").exists()


@pytest.mark.django_db
def test_a_displaced_bracket_not_yet_sent_is_withdrawn_and_never_sent() -> None:
    # given a weaker run that created its pending bracket but has not sent it yet
    account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
    weaker = a_strategy(account, symbol)
    run = run_create(strategy_id=weaker.pk, as_of=AS_OF)
    signal = SignalFactory.create(run=run, strategy=weaker, confidence=D("0.6"))
    placement = entry_place(
        run=run, signal=signal, strategy=weaker, quantity=D("10"), broker_name="paper"
    )
    assert [o.status for o in placement.orders] == ["pending"] * 3
    # when a stronger run's order step goes out
    ctx, step = order_step(a_strategy(account, symbol), confidence="0.9")
    assert_sent(ctx, step)
    # then the weaker bracket was withdrawn in the database, and its submission sends nothing
    bracket_submit(orders=placement.orders, broker=PaperBroker(), market_time=AS_OF)
    for order in Order.objects.filter(run=run):
        assert order.status == "cancelled" and order.attempts == 0
        assert "displaced by the stronger signal" in order.error_message
    assert not PaperOrder.objects.filter(client_order_ref__startswith=f"sibyl-{run.pk}-").exists()


@pytest.mark.django_db
def test_a_displaced_entry_that_filled_first_withdraws_the_newcomers_bracket() -> None:
    # given a weaker entry working at the broker, and a stronger newcomer's decision to displace it
    account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
    weaker, _ = order_step(a_strategy(account, symbol), confidence="0.6")
    newcomer = a_strategy(account, symbol)
    run = run_create(strategy_id=newcomer.pk, as_of=AS_OF)
    signal = SignalFactory.create(run=run, strategy=newcomer, confidence=D("0.9"))
    placement = entry_place(
        run=run, signal=signal, strategy=newcomer, quantity=D("10"), broker_name="paper"
    )
    assert placement.decision.allowed and placement.decision.displaced
    # when the weaker entry fills before it can be cancelled
    weak_entry = entry_of(weaker)
    assert weak_entry is not None
    orders_apply(
        states=[],
        executions=[
            Execution("x-1", weak_entry.client_order_ref, AS_OF, D("10"), D("100"), D("1"))
        ],
    )
    outcome = entry_displace(entries=placement.decision.displaced, by=newcomer.name)
    # then it is kept, and the newcomer's bracket is withdrawn unsent with the reason
    assert outcome.kept and "filled first" in next(iter(outcome.kept.values()))
    lost = conflict_lost(
        signal=signal, orders=placement.orders, why="; ".join(outcome.kept.values())
    )
    assert not lost.allowed
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"cancelled"}
    assert not PaperOrder.objects.filter(client_order_ref__startswith=f"sibyl-{run.pk}-").exists()
    signal.refresh_from_db()
    assert (
        signal.status == "rejected"
        and "own bracket withdrawn unsent" in signal.rejection_reasons[0]
    )
    positions, entries = conflict_facts(account_id=account.pk, symbol_id=symbol.pk)
    assert [p.quantity for p in positions] == [D("10")] and not entries


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_under_reject_duplicates_send_exactly_one_entry() -> None:
    # given two strategies on one account and symbol that refuses duplicates, and a session
    # holding that (account, symbol)'s lock
    account, symbol = an_account(same_direction_policy="reject_duplicates"), a_symbol()
    strategies = [a_strategy(account, symbol) for _ in range(2)]
    held, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_the_lock() -> None:
        try:
            with transaction.atomic():
                account_symbols_lock([(account.pk, symbol.pk)])
                held.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    def run_order_step(strategy: Strategy) -> None:
        try:
            order_step(strategy)
        except BaseException as error:  # reported to the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert held.wait(timeout=10)
    # when both run their order step at once, each on its own connection
    threads = [threading.Thread(target=run_order_step, args=(s,)) for s in strategies]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while sessions_waiting_on_a_lock() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    both_waited = sessions_waiting_on_a_lock() >= 2
    release.set()
    for thread in [holder, *threads]:
        thread.join(timeout=60)
    # then both decided under the lock, exactly one entry went out, the other was refused
    assert both_waited, "the order steps did not wait on the (account, symbol) lock"
    assert not errors, errors
    assert Order.objects.filter(role="entry").count() == 1
    assert PaperOrder.objects.filter(role="entry").count() == 1
    statuses = sorted(Signal.objects.values_list("status", flat=True))
    assert statuses == ["accepted", "rejected"]
    assert Run.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_run_ends_without_an_order_and_succeeds(goog: Symbol, llm_server: Any) -> None:
    # given another strategy on the operator's account holding GOOG long, duplicates refused
    llm_server.answer_with(decision())
    holder = StrategyFactory.create(symbol=goog)
    holder.account.same_direction_policy = "reject_duplicates"
    holder.account.save()
    StrategyPositionFactory.create(strategy=holder, quantity=D("7"))
    # when another strategy's whole run decides BUY
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", account=holder.account)
    run = strategy_run(strategy=strategy, as_of=datetime(2012, 6, 1, tzinfo=UTC), trigger="manual")
    # then the run succeeded, the order step says why, and no order exists
    assert run.status == "succeeded", run.error_message
    step = run.steps.get(name="order")
    assert step.status == "succeeded"
    assert step.output["conflict_check"]["passed"] is False
    assert f"{holder.name} holds LONG 7" in step.output["stopped"]
    assert Signal.objects.get(run=run).status == "rejected"
    assert not Order.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_entry_place_with_claim_claims_a_bracket_unless_it_displaces_others() -> None:
    # given an account under strongest_wins and a first run's decision with claim
    account, symbol = an_account(same_direction_policy="strongest_wins"), a_symbol()
    first = a_strategy(account, symbol)
    run = run_create(strategy_id=first.pk, as_of=AS_OF)
    signal = SignalFactory.create(run=run, strategy=first, confidence=D("0.6"))
    placement = entry_place(
        run=run, signal=signal, strategy=first, quantity=D("10"), broker_name="paper", claim=True
    )
    # then its bracket is committed already claimed: submitting, attempted once, nothing sent
    assert placement.claimed and not placement.decision.displaced
    stored = Order.objects.filter(run=run)
    assert {(o.status, o.attempts) for o in stored} == {("submitting", 1)}
    assert not PaperOrder.objects.filter(client_order_ref__startswith=f"sibyl-{run.pk}-").exists()
    # and nothing can withdraw it any more (it may be at the broker)
    assert not bracket_withdraw(orders=placement.orders, reason="test")

    # when a stronger newcomer displaces that unfilled entry, its own bracket stays pending
    newcomer = a_strategy(account, symbol)
    run2 = run_create(strategy_id=newcomer.pk, as_of=AS_OF)
    signal2 = SignalFactory.create(run=run2, strategy=newcomer, confidence=D("0.9"))
    second = entry_place(
        run=run2, signal=signal2, strategy=newcomer, quantity=D("10"), broker_name="paper",
        claim=True,
    )  # fmt: skip
    assert second.decision.displaced and not second.claimed
    assert {o.status for o in Order.objects.filter(run=run2)} == {"pending"}
