"""Parallel replays: one Celery task per variant on the ``runs`` queue, a real worker."""

from collections import Counter
from datetime import UTC, datetime

import pytest
import redis
from django.db.models import QuerySet

from apps.evaluation.models import BacktestStatus
from apps.evaluation.replay import ReplaySpec, replay_create
from apps.evaluation.services import backtest_create, backtest_run
from apps.evaluation.tasks import backtest_start, backtest_variant_run_task
from apps.lineage.models import Artifact, Run, Step
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.evaluation.helpers import backtest_wait
from tests.factories import StrategyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_replay_runs_its_variants_in_parallel_without_a_source_run_twice(
    goog: Symbol, runs_queue: redis.Redis
) -> None:
    # given a baseline backtest of two weeks, run in this process
    strategy = StrategyFactory.create(
        symbol=goog, schedule_cron="0 22 * * 1-5", schedule_timezone="UTC", is_active=False
    )
    source = backtest_run(
        backtest_create(
            strategy=strategy,
            start=datetime(2012, 3, 5, tzinfo=UTC),
            end=datetime(2012, 3, 16, 23, tzinfo=UTC),
        )
    )
    sources = list(
        Run.objects.filter(strategy=source.variants.get(reference=False).clone).order_by("as_of")
    )
    assert len(sources) == 10
    charts = Artifact.objects.filter(kind="chart_png").values("file").distinct().count()
    replay = replay_create(
        source_variant=source.variants.get(reference=False),
        variants=[ReplaySpec(label="b", analyst="baseline")],
    )
    original = replay.variants.get(position=1)
    # when it starts in parallel on a worker whose tasks pause every second, and the original's
    # task is delivered twice
    with celery_worker(name="rp", extra_env={"BACKTEST_TASK_SLICE_S": "1"}):
        assert backtest_start(replay) == 2
        backtest_variant_run_task.apply_async(args=(original.pk,), ignore_result=True)
        replay = backtest_wait(replay)
    # then both variants replayed every source run exactly once, from the stored charts
    assert replay.status == BacktestStatus.DONE, replay.error
    for variant in replay.variants.all():
        assert variant.status == BacktestStatus.DONE
        assert variant.slots_done == variant.slots_total == 10
        runs = Run.objects.filter(strategy=variant.clone)
        replayed = Counter(runs.values_list("replay_of_id", flat=True))
        assert sorted(replayed) == sorted(s.pk for s in sources) and max(replayed.values()) == 1
        assert set(runs.values_list("status", "trigger")) == {("succeeded", "replay")}
        assert {o["reused_from_run"] for o in _charts_outputs(runs)} == {s.pk for s in sources}
    assert Artifact.objects.filter(kind="chart_png").values("file").distinct().count() == charts


def _charts_outputs(runs: QuerySet[Run]) -> list[dict[str, object]]:
    return list(Step.objects.filter(run__in=runs, name="charts").values_list("output", flat=True))
