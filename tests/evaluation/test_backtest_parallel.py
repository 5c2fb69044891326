"""Parallel backtests: one Celery task per variant on the ``runs`` queue, a real worker."""

from collections import Counter
from datetime import UTC, datetime

import pytest
import redis

from apps.evaluation.models import BacktestStatus
from apps.evaluation.services import VariantSpec, backtest_create
from apps.evaluation.tasks import backtest_start, backtest_variant_run_task
from apps.lineage.models import Run
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.evaluation.helpers import backtest_wait
from tests.factories import StrategyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 3, 30, 23, 59, tzinfo=UTC)


def test_two_variants_run_in_parallel_without_a_slot_twice(
    goog: Symbol, runs_queue: redis.Redis
) -> None:
    # given a baseline strategy backtested over March 2012 with two variants
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    backtest = backtest_create(
        strategy=strategy,
        start=START,
        end=END,
        variants=[VariantSpec(label="a"), VariantSpec(label="b", analyst="baseline")],
    )
    first, second = backtest.variants.all()
    # and a worker whose variant tasks pause every second and send themselves again
    with celery_worker(name="bt", extra_env={"BACKTEST_TASK_SLICE_S": "1"}):
        # when the backtest starts in parallel, and the first variant's task is delivered twice
        assert backtest_start(backtest) == 2
        backtest_variant_run_task.apply_async(args=(first.pk,), ignore_result=True)
        backtest = backtest_wait(backtest)
    # then both variants are done, every slot has exactly one run, each succeeded
    assert backtest.status == BacktestStatus.DONE, backtest.error
    assert backtest.finished_at is not None
    for variant in backtest.variants.all():
        assert variant.status == BacktestStatus.DONE
        assert variant.slots_done == variant.slots_total == 22  # March 2012's weekdays
        runs = Run.objects.filter(strategy=variant.clone)
        slots = Counter(runs.values_list("scheduled_for", flat=True))
        assert len(slots) == 22 and max(slots.values()) == 1
        assert set(runs.values_list("status", "trigger")) == {("succeeded", "backtest")}
    # and both copies saw the same bars: the same decisions
    decisions = [
        list(
            Run.objects.filter(strategy=v.clone)
            .order_by("scheduled_for")
            .values_list("signal__action", flat=True)
        )
        for v in (first, second)
    ]
    assert decisions[0] == decisions[1]
    # a finished backtest starts nothing more
    assert backtest_start(backtest) == 0
