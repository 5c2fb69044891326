"""Recording the dispatcher's claimed slots (``runs_claim_slots``) against real PostgreSQL: one
run per (strategy, slot), whoever claims it first; skipped slots are recorded finished."""

from datetime import UTC, datetime

import pytest

from apps.lineage.models import Run, RunStatus, RunTrigger
from apps.lineage.services import SLOT_INSERT_BATCH, SlotRun, runs_claim_slots
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db

SLOT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 14, 30, 5, tzinfo=UTC)


def test_a_pending_and_a_skipped_slot_become_scheduled_runs() -> None:
    # given two strategies, one slot to run and one to skip
    pending, skipped = StrategyFactory.create(), StrategyFactory.create()

    # when their slots are claimed
    created = runs_claim_slots(
        slot_runs=[
            SlotRun(pending.pk, SLOT, RunStatus.PENDING, ""),
            SlotRun(skipped.pk, SLOT, RunStatus.SKIPPED, "exchange closed"),
        ],
        now=NOW,
    )

    # then both runs come back with their status, recorded as the schedule's
    assert sorted(status for _, status in created) == [RunStatus.PENDING, RunStatus.SKIPPED]
    runs = {run.strategy_id: run for run in Run.objects.filter(pk__in=[i for i, _ in created])}
    assert runs[pending.pk].trigger == RunTrigger.SCHEDULE
    assert runs[pending.pk].as_of == SLOT
    assert runs[pending.pk].scheduled_for == SLOT
    assert runs[pending.pk].created_at == NOW
    assert runs[pending.pk].finished_at is None
    assert runs[pending.pk].enqueue_count == 0
    assert runs[skipped.pk].status == RunStatus.SKIPPED
    assert runs[skipped.pk].finished_at == NOW
    assert runs[skipped.pk].error_message == "exchange closed"


def test_a_slot_already_claimed_is_not_recorded_twice() -> None:
    # given a slot a first dispatcher recorded
    strategy = StrategyFactory.create()
    first = runs_claim_slots(slot_runs=[SlotRun(strategy.pk, SLOT, RunStatus.PENDING, "")], now=NOW)

    # when a second dispatcher claims the same slot
    second = runs_claim_slots(
        slot_runs=[SlotRun(strategy.pk, SLOT, RunStatus.PENDING, "")], now=NOW
    )

    # then only the first created a run
    assert len(first) == 1
    assert second == []
    assert Run.objects.filter(strategy=strategy, scheduled_for=SLOT).count() == 1


def test_more_slots_than_one_batch_are_all_recorded() -> None:
    # given one strategy and more slots than one INSERT holds
    strategy = StrategyFactory.create()
    slots = [
        SlotRun(
            strategy.pk,
            datetime.fromtimestamp(1_700_000_000 + 60 * i, tz=UTC),
            RunStatus.PENDING,
            "",
        )
        for i in range(SLOT_INSERT_BATCH + 1)
    ]

    # when they are claimed
    created = runs_claim_slots(slot_runs=slots, now=NOW)

    # then every slot has its run
    assert len(created) == SLOT_INSERT_BATCH + 1
    assert Run.objects.filter(strategy=strategy).count() == SLOT_INSERT_BATCH + 1
