"""Lineage of a bracket after its run: adoption, fills and reconciliation land on the run that
owns the orders, with that run's own figures; a run whose bracket is live after adoption or a
retry is ``recovered``; stale order errors are cleared when the order moves on. Through the
TWS simulator, the real ib_async client and PostgreSQL."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.ibkr.broker import IbkrBroker
from apps.ibkr.connection import IbkrConfig, IbkrConnection
from apps.ibkr.gateway import ibkr_broker, ibkr_connection, ibkr_connection_close
from apps.ibkr.recording import reconcile, record_news
from apps.lineage.models import Run, Step
from apps.lineage.services import run_start, runs_mark_abandoned, step_record
from apps.orders.brokers import BracketSpec, BrokerOrderState, Execution
from apps.orders.models import Order
from apps.orders.monitor import orders_monitor, orders_retry
from apps.orders.services import bracket_submit, order_spec
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory
from tests.ibkr.adapter.helpers import AS_OF, GOOG_CONID, live_bracket, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
UNKNOWN = "submission outcome unknown; the broker does not hold it"


@pytest.fixture
def goog(db: None) -> Symbol:
    return SymbolFactory.create(
        symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ", min_tick=D("0.01")
    )


async def _noop(ib: Any) -> None:
    return None


def refs(orders: list[Order]) -> set[str]:
    return {o.client_order_ref for o in orders}


def run_of(orders: list[Order]) -> Run:
    run = orders[0].run
    assert run is not None
    return run


def died_in_order_step(orders: list[Order]) -> Run:
    """The bracket's run as the reaper leaves it when its worker died in the order step: the
    orders claimed (``submitting``), the run ``abandoned``, the order step failed WorkerLost."""
    run = run_of(orders)
    assert run_start(run=run)
    with step_record(run=run, name="order", sequence=1, step_input={}):
        Order.objects.filter(run=run).update(status="submitting", attempts=1)
    Step.objects.filter(run=run).update(status="running", finished_at=None)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    run.refresh_from_db()
    assert run.status == "abandoned"
    return run


def place_from_another_worker(simulator: Any, orders: list[Order]) -> None:
    """Place the bracket at TWS from another clientId, then drop that connection (the killed
    worker): Sibyl's own connection hears nothing of it."""
    config = replace(IbkrConfig.from_settings(), client_id=31, client_id_tries=1)
    other = IbkrConnection(config)
    try:
        IbkrBroker(other, ack_timeout_s=3.0).submit_bracket(
            BracketSpec(orders[0].symbol_id, "1 day", AS_OF, tuple(order_spec(o) for o in orders))
        )
    finally:
        other.close()
    assert {o["order_ref"] for o in simulator.orders()} >= refs(orders)


def connected(connection: IbkrConnection) -> None:
    """Connected, and the reconciliation on connect done (it must not be what adopts)."""
    connection.call(_noop)
    wait_for(lambda: connection.reconciliations >= 1)
    connection.run_db(lambda: None).result(timeout=10)


def notes(run: Run, after: int) -> list[Step]:
    return list(run.steps.filter(sequence__gt=after).order_by("sequence"))


def finished(orders: list[Order]) -> Run:
    run = run_of(orders)
    Run.objects.filter(pk=run.pk).update(status="succeeded", finished_at=timezone.now())
    run.refresh_from_db()
    return run


def reconnect() -> IbkrConnection:
    """A fresh process connection; returns once its reconciliation and the news it brought
    are recorded (the database thread works in order)."""
    ibkr_connection_close()
    connection = ibkr_connection()
    connection.call(_noop)
    wait_for(lambda: connection.reconciliations >= 1)
    connection.run_db(lambda: None).result(timeout=10)
    return connection


def test_adoption_at_reconnect_is_recorded_on_each_owning_run_alone(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    # given a finished run whose bracket works at TWS
    working = live_bracket(goog)
    bracket_submit(orders=working, broker=ibkr_broker(), market_time=AS_OF)
    bystander = finished(working)
    # and two runs whose workers died in the order step after TWS took their brackets
    lost = [live_bracket(goog, entry="790"), live_bracket(goog, entry="795")]
    runs = [died_in_order_step(orders) for orders in lost]
    for orders in lost:
        place_from_another_worker(simulator, orders)
    # when Sibyl reconnects (reconciliation, and the news of every open order)
    reconnect()
    # then each lost run's orders are adopted and the run says its bracket is live
    for run, orders in zip(runs, lost, strict=True):
        assert set(Order.objects.filter(run=run).values_list("status", "error_message")) == {
            ("submitted", "")
        }
        run.refresh_from_db()
        assert (run.status, run.error_message) == ("recovered", "worker lost during step order")
        # and its lineage after the failed order step names its own orders only
        appended = notes(run, after=1)
        assert appended, "the adoption is not in the run's lineage"
        adopted: set[str] = set()
        for step in appended:
            assert set(step.output["orders"]) == refs(orders), step.output
            assert set(step.output.get("adopted", [])) <= refs(orders), step.output
            adopted |= set(step.output.get("adopted", []))
        assert adopted == refs(orders)
    # and the finished run whose orders did not change gains nothing
    assert not notes(bystander, after=0)


def test_a_run_adopted_while_still_running_is_recovered_once_reaped(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    # given a run whose worker died in the order step, not yet reaped, its bracket at TWS
    orders = live_bracket(goog)
    run = run_of(orders)
    assert run_start(run=run)
    Order.objects.filter(run=run).update(status="submitting", attempts=1)
    Step.objects.create(
        run=run, name="order", sequence=1, status="running", started_at=timezone.now()
    )
    place_from_another_worker(simulator, orders)
    # when Sibyl reconnects and adopts the orders while the run still looks running
    reconnect()
    assert set(Order.objects.filter(run=run).values_list("status", flat=True)) == {"submitted"}
    # and later the reaper and the monitor run
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    runs_mark_abandoned(older_than=timezone.now() - timedelta(minutes=10))
    orders_monitor(now=timezone.now())
    # then the run says its bracket is live, and its lineage says why
    run.refresh_from_db()
    assert run.status == "recovered"
    last = run.steps.order_by("-sequence").first()
    assert last is not None and last.name == "recovered"
    assert last.output["orders"] == {ref: "submitted" for ref in refs(orders)}


def test_a_bracket_resent_by_the_retry_pass_drops_its_stale_error(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    # given a failed run whose bracket the in-doubt reconciliation found missing at TWS
    connected(connection)
    orders = live_bracket(goog)
    run = run_of(orders)
    Run.objects.filter(pk=run.pk).update(status="failed", error_message="order: WorkerLost")
    Order.objects.filter(run=run).update(status="failed", attempts=1, error_message=UNKNOWN)
    # when the retry pass sends it
    report = orders_retry(now=datetime.now(UTC) + timedelta(days=1))
    # then the orders work at TWS with no error left, and the run says its bracket is live
    assert report.resubmitted == 1
    assert set(Order.objects.filter(run=run).values_list("status", "error_message")) == {
        ("submitted", "")
    }
    run.refresh_from_db()
    assert (run.status, run.error_message) == ("recovered", "order: WorkerLost")
    assert run.steps.get(name="retry").output["run_status"] == "recovered"


def test_a_bracket_adopted_by_the_retry_pass_drops_its_stale_error(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    # given a failed bracket that TWS holds after all (another worker's submission landed)
    connected(connection)
    orders = live_bracket(goog)
    run = run_of(orders)
    Run.objects.filter(pk=run.pk).update(status="failed", error_message="order: WorkerLost")
    Order.objects.filter(run=run).update(status="failed", attempts=1, error_message=UNKNOWN)
    place_from_another_worker(simulator, orders)
    # when the retry pass looks it up by reference
    report = orders_retry(now=datetime.now(UTC) + timedelta(days=1))
    # then it is adopted, not resent, and nothing stale is left
    assert (report.adopted, report.resubmitted) == (1, 0)
    assert all(simulator.place_count(ref) == 1 for ref in refs(orders))
    assert set(Order.objects.filter(run=run).values_list("status", "error_message")) == {
        ("submitted", "")
    }
    run.refresh_from_db()
    assert run.status == "recovered"


def _fill(order: Order, execution_id: str) -> Execution:
    return Execution(
        execution_id,
        order.client_order_ref,
        datetime.now(UTC),
        order.quantity,
        D("799"),
        commission=D("1"),
    )


def test_broker_news_and_reconciliation_note_each_run_with_its_own_figures(
    goog: Symbol,
) -> None:
    # given two finished runs with working brackets and a third, running, with one too
    first, second, running = (live_bracket(goog) for _ in range(3))
    for orders in (first, second, running):
        Order.objects.filter(pk__in=[o.pk for o in orders]).update(status="submitted")
    one, two = finished(first), finished(second)
    assert run_start(run=run_of(running))
    # when one batch of news fills both finished runs' entries and repeats the running one's
    record_news(
        [BrokerOrderState(o.client_order_ref, "1", "submitted") for o in running],
        [_fill(first[0], "ex-1"), _fill(second[0], "ex-2")],
    )
    # then each finished run is noted with its own fill only, the running run not at all
    for run, orders in ((one, first), (two, second)):
        [note] = notes(run, after=0)
        assert note.name == "broker"
        assert (note.output["new_fills"], note.output["adopted"]) == (1, [])
        assert set(note.output["orders"]) == refs(orders)
    assert not notes(run_of(running), after=0)
    # when a reconciliation finds the first run's stop filled and the second's children gone
    reconcile(
        [BrokerOrderState(o.client_order_ref, "1", "submitted") for o in first[1:]],
        [_fill(first[2], "ex-3")],
    )
    # then the first run is noted with its fill, the second with its own unknown orders
    [_, note] = notes(one, after=0)
    assert (note.name, note.output["new_fills"], note.output["unknown_at_broker"]) == (
        "reconcile",
        1,
        [],
    )
    [_, note] = notes(two, after=0)
    assert note.output["new_fills"] == 0
    assert set(note.output["unknown_at_broker"]) == refs(second[1:])
    assert set(note.output["orders"]) == refs(second)
