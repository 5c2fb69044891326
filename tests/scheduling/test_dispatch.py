"""Dispatching due slots: once per slot, whatever the concurrency or downtime."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.lineage.models import Run
from apps.pipeline.dispatch import dispatch_due
from apps.strategies.models import Strategy
from apps.strategies.schedule import schedules_refresh
from tests.factories import StrategyFactory, SymbolFactory, UserFactory
from tests.strategies.live import grant_live_trading

SLOT = datetime(2024, 7, 8, 20, 30, tzinfo=UTC)  # Monday 16:30 New York
CRON, NEW_YORK = "30 16 * * 1-5", "America/New_York"


def due_strategy(**fields: object) -> Strategy:
    defaults: dict[str, object] = {
        "schedule_cron": CRON,
        "schedule_timezone": NEW_YORK,
        "next_run_at": SLOT,
    }
    return StrategyFactory.create(**{**defaults, **fields})


@pytest.mark.django_db
def test_a_due_slot_becomes_one_pending_run_and_the_next_slot_is_set() -> None:
    strategy = due_strategy()
    report = dispatch_due(now=SLOT + timedelta(seconds=5))
    run = Run.objects.get()
    assert report.claimed_run_ids == [run.pk]
    assert (run.status, run.trigger, run.scheduled_for, run.as_of) == (
        "pending",
        "schedule",
        SLOT,
        SLOT,
    )
    strategy.refresh_from_db()
    assert strategy.next_run_at == datetime(2024, 7, 9, 20, 30, tzinfo=UTC)
    assert dispatch_due(now=SLOT + timedelta(seconds=20)).claimed_run_ids == []
    assert Run.objects.count() == 1


@pytest.mark.django_db
def test_a_strategy_not_yet_due_or_inactive_is_not_claimed() -> None:
    due_strategy(next_run_at=SLOT + timedelta(days=1))
    due_strategy(is_active=False)
    assert dispatch_due(now=SLOT).claimed_run_ids == []
    assert not Run.objects.exists()


@pytest.mark.django_db
def test_after_three_hours_down_only_the_latest_missed_slot_runs() -> None:
    strategy = StrategyFactory.create(
        schedule_cron="*/15 * * * *", schedule_timezone="UTC", next_run_at=SLOT
    )
    report = dispatch_due(now=SLOT + timedelta(hours=3, minutes=2))
    assert len(report.claimed_run_ids) == 1
    assert Run.objects.get().scheduled_for == SLOT + timedelta(hours=3)
    strategy.refresh_from_db()
    assert strategy.next_run_at == SLOT + timedelta(hours=3, minutes=15)


@pytest.mark.django_db
def test_catch_up_none_records_a_missed_slot_as_skipped() -> None:
    due_strategy(catch_up="none")
    report = dispatch_due(now=SLOT + timedelta(hours=3))
    assert report.claimed_run_ids == [] and report.skipped == 1
    run = Run.objects.get()
    assert (run.status, run.error_message) == ("skipped", "missed slot (catch_up: none)")


@pytest.mark.django_db
def test_catch_up_none_still_runs_an_on_time_slot() -> None:
    due_strategy(catch_up="none")
    assert len(dispatch_due(now=SLOT + timedelta(seconds=30)).claimed_run_ids) == 1


@pytest.mark.django_db
def test_a_closed_exchange_skips_the_slot() -> None:
    nyse = SymbolFactory.create(trading_calendar="XNYS")
    july_4th = datetime(2024, 7, 4, 20, 30, tzinfo=UTC)
    due_strategy(symbol=nyse, skip_closed_market=True, next_run_at=july_4th)
    report = dispatch_due(now=july_4th + timedelta(seconds=5))
    assert report.claimed_run_ids == [] and report.skipped == 1
    assert Run.objects.get().error_message == "exchange closed"


@pytest.mark.django_db
def test_an_open_exchange_runs_the_slot() -> None:
    due_strategy(symbol=SymbolFactory.create(trading_calendar="XNYS"), skip_closed_market=True)
    assert len(dispatch_due(now=SLOT + timedelta(seconds=5)).claimed_run_ids) == 1


@pytest.mark.django_db
def test_schedules_refresh_sets_missing_slots_and_leaves_due_ones() -> None:
    new = StrategyFactory.create(schedule_cron=CRON, schedule_timezone=NEW_YORK, next_run_at=None)
    due = due_strategy()
    schedules_refresh(now=SLOT + timedelta(seconds=1))
    new.refresh_from_db()
    due.refresh_from_db()
    assert new.next_run_at == datetime(2024, 7, 9, 20, 30, tzinfo=UTC)
    assert due.next_run_at == SLOT


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_claim_each_slot_once() -> None:
    strategies = [due_strategy() for _ in range(40)]
    barrier = threading.Barrier(4)
    claimed: list[int] = []

    def dispatcher() -> None:
        try:
            barrier.wait()
            claimed.extend(dispatch_due(now=SLOT + timedelta(seconds=5)).claimed_run_ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(Run.objects.values_list("pk", flat=True))
    assert Run.objects.count() == len(strategies)
    assert set(Run.objects.values_list("strategy_id", flat=True)) == {s.pk for s in strategies}


@pytest.mark.django_db
def test_a_live_strategy_whose_owner_lacks_the_permission_is_skipped_with_the_reason() -> None:
    # given due live strategies: one owner holds strategies.trade_live, one does not, one has
    # no owner
    holder = grant_live_trading(UserFactory.create(username="pro"))
    allowed = due_strategy(owner=holder, trading_mode="live")
    refused = due_strategy(owner=UserFactory.create(username="former"), trading_mode="live")
    ownerless = due_strategy(trading_mode="live")
    # when the dispatcher claims the slot
    report = dispatch_due(now=SLOT + timedelta(seconds=5))
    # then only the permitted one runs; the others' slots are skipped, saying why, and their
    # schedules move on (they run again once the permission is granted)
    assert report.claimed_run_ids == [Run.objects.get(strategy=allowed).pk]
    assert report.skipped == 2
    for strategy in (refused, ownerless):
        run = Run.objects.get(strategy=strategy)
        assert run.status == "skipped"
        assert run.error_message == (
            "live trading not allowed: the owner does not hold strategies.trade_live"
        )
        strategy.refresh_from_db()
        assert strategy.next_run_at == datetime(2024, 7, 9, 20, 30, tzinfo=UTC)
