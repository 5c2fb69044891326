"""After submission: the monitor, reconciliation of in-doubt orders, retries and cleanup."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.lineage.models import Artifact, Run
from apps.lineage.services import run_create, run_start, runs_mark_abandoned
from apps.orders import broker_selection
from apps.orders.brokers import (
    BracketSpec,
    Execution,
)
from apps.orders.models import Fill, Order, PaperOrder
from apps.orders.monitor import orders_monitor, orders_retry
from apps.orders.services import bracket_create, order_spec
from apps.pipeline.cleanup import records_prune
from apps.pipeline.executor import strategy_run
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.brokers import ScriptedBroker
from tests.factories import SignalFactory, StrategyFactory
from tests.positions.helpers import net_position

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedBroker]:
    scripted = ScriptedBroker()
    monkeypatch.setitem(broker_selection.BROKERS, "paper", lambda: scripted)
    monkeypatch.setitem(broker_selection.BROKERS, "scripted", lambda: scripted)
    yield scripted


def accepted_run(goog: Symbol) -> tuple[Run, Strategy, Signal]:
    strategy = StrategyFactory.create(symbol=goog, order_type="LMT")
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    signal = SignalFactory.create(
        strategy=strategy,
        run=run,
        action="BUY",
        position_side="LONG",
        confidence=Decimal("0.8"),
        entry=Decimal("580.86"),
        stop_loss=Decimal("570"),
        take_profit=Decimal("600"),
        status="accepted",
    )
    return run, strategy, signal


def test_the_monitor_records_a_partial_then_a_full_fill_once_each(
    goog: Symbol, broker: ScriptedBroker
) -> None:
    # given a bracket working at the broker
    run = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, analyst="baseline", order_type="LMT"),
        as_of=AS_OF,
        trigger="manual",
    )
    entry = Order.objects.get(run=run, role="entry")
    assert entry.status == "submitted" and broker.submits == 1
    half = entry.quantity / 2

    def execution(execution_id: str, price: str) -> Execution:
        return Execution(
            execution_id,
            entry.client_order_ref,
            AS_OF + timedelta(days=1),
            half,
            Decimal(price),
            commission=Decimal("1"),
        )

    # when the broker reports a partial fill, and the monitor runs twice
    broker.executions.append(execution("ex-1", "580"))
    orders_monitor(now=timezone.now())
    orders_monitor(now=timezone.now())
    entry.refresh_from_db()
    assert (entry.status, entry.filled_quantity) == ("partially_filled", half)
    # then the rest fills
    broker.executions.append(execution("ex-2", "581"))
    report = orders_monitor(now=timezone.now())
    orders_monitor(now=timezone.now())
    entry.refresh_from_db()
    assert report.new_fills == 1
    assert (entry.status, entry.filled_quantity, entry.avg_fill_price) == (
        "filled",
        entry.quantity,
        Decimal("580.5"),
    )
    assert Fill.objects.filter(order=entry).count() == 2
    assert net_position(goog) == -entry.quantity  # a SELL signal
    assert list(run.steps.filter(name="monitor").values_list("output__new_fills", flat=True)) == [
        1,
        1,
    ]


def test_an_in_doubt_order_the_broker_holds_is_adopted_not_resent(
    goog: Symbol, broker: ScriptedBroker
) -> None:
    # given a run whose worker died after the broker accepted the bracket, before Sibyl knew
    run, strategy, signal = accepted_run(goog)
    orders = bracket_create(
        run=run, signal=signal, strategy=strategy, quantity=Decimal(10), broker_name="paper"
    )
    broker.submit_bracket(
        BracketSpec(goog.pk, "1 day", AS_OF, tuple(order_spec(o) for o in orders))
    )
    assert run_start(run=run)
    Run.objects.filter(pk=run.pk).update(
        current_step="order", heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    # when the reaper and the monitor run
    abandoned = runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    Order.objects.filter(run=run).update(created_at=timezone.now() - timedelta(hours=1))
    report = orders_monitor(now=timezone.now())
    # then the run, abandoned at the order step, is recovered: its bracket adopted, sent once
    assert [r.pk for r in abandoned] == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.error_message) == ("recovered", "worker lost during step order")
    assert run.steps.get(name="reconcile").output["run_status"] == "recovered"
    assert report.adopted == 3 and broker.submits == 1
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"submitted"}
    orders_retry(now=timezone.now() + timedelta(days=1))
    assert broker.submits == 1


def test_an_in_doubt_order_the_broker_lacks_is_retried_once_confirmed(
    goog: Symbol, broker: ScriptedBroker
) -> None:
    run, strategy, signal = accepted_run(goog)
    bracket_create(
        run=run, signal=signal, strategy=strategy, quantity=Decimal(10), broker_name="paper"
    )
    Order.objects.filter(run=run).update(created_at=timezone.now() - timedelta(hours=1))
    orders_monitor(now=timezone.now())
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"failed"}
    orders_retry(now=timezone.now() + timedelta(hours=1))
    assert broker.submits == 1
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"submitted"}


def test_a_transient_submit_failure_is_retried_with_backoff(
    goog: Symbol, broker: ScriptedBroker
) -> None:
    broker.fail_submits = 1
    run = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, order_type="LMT"),
        as_of=AS_OF,
        trigger="manual",
    )
    assert run.status == "failed" and "connection reset" in run.error_message
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"failed"}
    # not before the backoff delay
    assert orders_retry(now=timezone.now()).resubmitted == 0
    report = orders_retry(now=timezone.now() + timedelta(minutes=5))
    assert report.resubmitted == 1 and broker.submits == 2
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"submitted"}
    assert run.steps.get(name="retry").output["attempt"] == 2


def test_a_rejected_order_is_never_retried(goog: Symbol, broker: ScriptedBroker) -> None:
    broker.reject = True
    run = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, order_type="LMT"),
        as_of=AS_OF,
        trigger="manual",
    )
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"rejected"}
    orders_retry(now=timezone.now() + timedelta(days=1))
    orders_monitor(now=timezone.now() + timedelta(days=1))
    assert broker.submits == 1


def test_cleanup_removes_only_old_finished_records_and_their_files(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog, order_type="LMT")
    # Its own chart input (lookback), so some of its content-addressed files are its alone.
    other = StrategyFactory.create(symbol=goog, order_type="LMT", lookback=strategy.lookback + 1)
    old = strategy_run(strategy=other, as_of=AS_OF, trigger="manual")
    recent = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    live = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    running = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    long_ago = timezone.now() - timedelta(days=120)
    Run.objects.filter(pk__in=[old.pk, live.pk]).update(finished_at=long_ago)
    Run.objects.filter(pk=running.pk).update(created_at=long_ago)
    old_files = list(Artifact.objects.filter(step__run=old).values_list("file", flat=True))
    assert old_files and all(default_storage.exists(name) for name in old_files)
    assert Order.objects.filter(run=live, role="take_profit").update(status="submitted") == 1
    # Files are content-addressed: the kept runs may share some of the old run's files.
    kept = set(Artifact.objects.exclude(step__run=old).values_list("file", flat=True))
    only_old = set(old_files) - kept
    assert only_old
    report = records_prune(now=timezone.now(), retention_days=90)
    assert not Run.objects.filter(pk=old.pk).exists()
    assert not any(default_storage.exists(name) for name in only_old)
    assert all(default_storage.exists(name) for name in kept)
    assert Run.objects.filter(pk=recent.pk).exists() and Run.objects.filter(pk=running.pk).exists()
    assert Run.objects.filter(pk=live.pk).exists()
    assert not PaperOrder.objects.filter(client_order_ref__startswith=f"sibyl-{old.pk}-").exists()
    assert (report.runs, report.orders, report.files) == (1, 3, len(only_old))
    assert StrategyPosition.objects.filter(symbol=goog).exists()
