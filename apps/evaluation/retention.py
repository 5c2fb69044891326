"""Retention of backtests: a backtest is kept or pruned as one unit.

The weekly cleanup (``apps.pipeline.cleanup.records_prune``) leaves the runs of a backtest's
hidden strategy copies alone; this module removes a finished backtest whole once it finished
more than ``RETENTION_DAYS`` ago: every run of its variants (steps, artifacts, LLM calls,
signals), their orders and fills (the variants' closes and end-of-day exits have no run), the
paper book's orders, positions and actions on the variants' isolated paper accounts, the hidden
copies, the accounts and the backtest row. A report therefore never loses some slots while
others remain, and nothing of a backtest outlives it. A backtest still pending or running is
never pruned (a dead worker's backtest stays until it is resumed or cancelled).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from apps.evaluation.models import Backtest, BacktestStatus, BacktestVariant
from apps.lineage.models import Run
from apps.lineage.services import artifact_files_release
from apps.orders.models import Order, PaperOrder, PositionAction
from apps.orders.paper_broker import PAPER_KEY_PREFIX
from apps.pipeline.cleanup import runs_delete
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.trading.models import Account

# A backtest in one of these states is final: nothing will add slots to it unless resumed.
FINAL_STATUSES = (BacktestStatus.DONE, BacktestStatus.FAILED, BacktestStatus.CANCELLED)


@dataclass(frozen=True)
class BacktestPruneReport:
    """How many backtests, runs, orders and artifact files were removed (a file still
    referenced by a kept artifact, e.g. a chart shared with a live run, is not removed)."""

    backtests: int
    runs: int
    orders: int
    files: int


def prunable_backtests(*, before: datetime) -> list[int]:
    """Ids of backtests final (done, failed or cancelled) and finished before ``before``
    (tz-aware UTC); one without a finish time counts from its creation."""
    return list(
        Backtest.objects.filter(status__in=FINAL_STATUSES)
        .filter(Q(finished_at__lt=before) | Q(finished_at__isnull=True, created_at__lt=before))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def backtest_delete(backtest: Backtest) -> tuple[int, int, list[str]]:
    """Delete ``backtest`` and everything it made, in one transaction.

    Returns (runs deleted, orders deleted, artifact file names to release after commit —
    ``artifact_files_release``). Raises ``django.db.models.ProtectedError`` if something
    outside the backtest still points at its copies or accounts (nothing should).
    """
    with transaction.atomic():
        variants = list(backtest.variants.all())
        clone_ids = [v.clone_id for v in variants]
        account_ids = [v.account_id for v in variants]
        run_ids = list(Run.objects.filter(strategy_id__in=clone_ids).values_list("pk", flat=True))
        deleted = runs_delete(run_ids)
        # Orders without a run: closes, reverses and end-of-day exits of the variants.
        loose = Order.objects.filter(Q(strategy_id__in=clone_ids) | Q(account_id__in=account_ids))
        refs = list(loose.values_list("client_order_ref", flat=True))
        PaperOrder.objects.filter(
            Q(client_order_ref__in=refs)
            | Q(account_key__in=[f"{PAPER_KEY_PREFIX}{pk}" for pk in account_ids])
        ).delete()
        loose.delete()
        PositionAction.objects.filter(account_id__in=account_ids).delete()
        StrategyPosition.objects.filter(account_id__in=account_ids).delete()
        backtest.variants.all().delete()
        Strategy.objects.filter(pk__in=clone_ids).delete()
        Account.objects.filter(pk__in=account_ids).delete()
        backtest.delete()
    return deleted.runs, deleted.orders + len(refs), deleted.files


def backtests_prune(*, now: datetime, retention_days: int) -> BacktestPruneReport:
    """Delete every backtest final for more than ``retention_days`` before ``now`` (tz-aware
    UTC), each as one unit (``backtest_delete``), then release the artifact files no kept
    artifact references any more. A backtest whose variant is the source of a kept replay is
    kept with it (the replay's comparison starts from it)."""
    ids = prunable_backtests(before=now - timedelta(days=retention_days))
    runs = orders = 0
    files: list[str] = []
    pruned = 0
    # Newest first: a replay of a backtest goes before its source, which a kept replay keeps.
    for backtest in Backtest.objects.filter(pk__in=ids).order_by("-pk"):
        if BacktestVariant.objects.filter(backtest=backtest, replays__isnull=False).exists():
            continue
        pruned += 1
        run_count, order_count, names = backtest_delete(backtest)
        runs += run_count
        orders += order_count
        files += names
    released = artifact_files_release(names=files)
    return BacktestPruneReport(backtests=pruned, runs=runs, orders=orders, files=released)
