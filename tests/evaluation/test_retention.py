"""Retention treats a backtest as one unit: its runs are never pruned one by one, and a final
backtest past ``RETENTION_DAYS`` goes whole — runs, orders, positions, accounts, copies."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.replay import ReplaySpec, replay_create
from apps.evaluation.retention import backtests_prune
from apps.evaluation.services import backtest_create, backtest_run
from apps.lineage.models import Artifact, Run
from apps.orders.models import Fill, Order, PaperOrder
from apps.pipeline.cleanup import records_prune
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.evaluation.helpers import daily_strategy

pytestmark = pytest.mark.django_db(transaction=False)

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 4, 15, 23, 59, tzinfo=UTC)


def _made_by(backtest: Backtest) -> dict[str, int]:
    clones = [v.clone_id for v in backtest.variants.all()]
    accounts = [v.account_id for v in backtest.variants.all()]
    return {
        "runs": Run.objects.filter(strategy_id__in=clones).count(),
        "orders": Order.objects.filter(account_id__in=accounts).count(),
        "fills": Fill.objects.filter(order__account_id__in=accounts).count(),
        "positions": StrategyPosition.objects.filter(account_id__in=accounts).count(),
        "paper_orders": PaperOrder.objects.filter(
            account_key__in=[f"paper-{a}" for a in accounts]
        ).count(),
    }


def test_a_backtest_is_kept_or_pruned_whole(goog: Symbol) -> None:
    strategy = daily_strategy(goog)
    old = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    recent = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    stuck = backtest_create(strategy=strategy, start=START, end=END)
    made = _made_by(old)
    assert made["runs"] > 20 and made["orders"] > 0 and made["fills"] > 0, made
    assert made["positions"] > 0 and made["paper_orders"] > 0, made
    long_ago = timezone.now() - timedelta(days=200)
    Backtest.objects.filter(pk=old.pk).update(finished_at=long_ago)
    Backtest.objects.filter(pk=stuck.pk).update(status=BacktestStatus.RUNNING, created_at=long_ago)
    # every backtest run finished long ago, as far as the runs' own cleanup can tell
    Run.objects.filter(strategy__backtest_of=strategy).update(finished_at=long_ago)
    old_clones = [v.clone_id for v in old.variants.all()]
    old_accounts = [v.account_id for v in old.variants.all()]
    kept_files = set(
        Artifact.objects.filter(step__run__strategy__backtest_of=strategy)
        .exclude(step__run__strategy_id__in=old_clones)
        .values_list("file", flat=True)
    )
    assert kept_files

    # the runs' weekly cleanup leaves backtest runs alone: no backtest loses some slots
    assert records_prune(now=timezone.now(), retention_days=90).runs == 0
    assert _made_by(old) == made

    report = backtests_prune(now=timezone.now(), retention_days=90)

    assert report.backtests == 1 and report.runs == made["runs"], report
    assert not Backtest.objects.filter(pk=old.pk).exists()
    assert not Strategy.objects.filter(pk__in=old_clones).exists()
    assert not Account.objects.filter(pk__in=old_accounts).exists()
    assert not Run.objects.filter(strategy_id__in=old_clones).exists()
    assert not Order.objects.filter(account_id__in=old_accounts).exists()
    assert not PaperOrder.objects.filter(
        account_key__in=[f"paper-{a}" for a in old_accounts]
    ).exists()
    # the recent and the unfinished backtests are untouched, with the charts they share
    assert Backtest.objects.filter(pk__in=[recent.pk, stuck.pk]).count() == 2
    assert _made_by(recent)["runs"] == made["runs"]
    assert all(default_storage.exists(name) for name in kept_files)
    assert Strategy.objects.filter(pk=strategy.pk).exists()


def test_a_backtest_stays_while_a_kept_replay_compares_against_it(goog: Symbol) -> None:
    strategy = daily_strategy(goog)
    source = backtest_run(
        backtest_create(
            strategy=strategy,
            start=datetime(2012, 3, 5, tzinfo=UTC),
            end=datetime(2012, 3, 9, 23, tzinfo=UTC),
        )
    )
    replay = backtest_run(
        replay_create(
            source_variant=source.variants.get(reference=False),
            variants=[ReplaySpec(label="again", analyst="baseline")],
        )
    )
    assert replay.status == BacktestStatus.DONE, replay.error
    long_ago = timezone.now() - timedelta(days=200)
    Backtest.objects.filter(pk=source.pk).update(finished_at=long_ago)

    # the source is old, but the recent replay keeps it
    assert backtests_prune(now=timezone.now(), retention_days=90).backtests == 0
    assert Backtest.objects.filter(pk=source.pk).exists()

    # once the replay is old too, both go (the replay first)
    Backtest.objects.filter(pk=replay.pk).update(finished_at=long_ago)
    assert backtests_prune(now=timezone.now(), retention_days=90).backtests == 2
    assert not Backtest.objects.filter(pk__in=[source.pk, replay.pk]).exists()
