"""Automatic triggers on a strategy: daily loss, drawdown and failed runs deactivate it.

A strategy's limits (blank is off): ``Strategy.daily_loss_limit`` (money, its symbol's
currency), ``Strategy.max_drawdown_pct`` (0–100) and ``Strategy.max_failed_runs``. A breached
limit deactivates the strategy (``apps.strategies.lifecycle.strategy_deactivate``: the
dispatcher no longer runs it) and records the automatic deactivation on the strategy
(``auto_deactivated_at``, ``auto_deactivation_reason``: the limit and the figures; who is the
system), shown by the API and the strategy page. Deactivation rather than a per-strategy
trading state: a strategy's trading is its schedule, and an inactive strategy neither runs
nor opens positions, while its open positions keep their protective orders (and an operator
may still close them). Nothing re-activates a strategy automatically: an operator does.

- Daily loss and drawdown: as an account's (``apps.trading.triggers``), on the strategy's
  equity = its ``capital`` + realized + unrealized P&L of its positions in its symbol's
  currency (every account it traded on), marked per strategy (``StrategyEquityMark``), on the
  same UTC day; checked on every monitor pass (``risk_triggers_check``). An inactive
  strategy's mark is kept current too (its open positions still move) but nothing fires, so
  a strategy re-activated days later is not deactivated for what it lost while paused.
- Failed runs: checked when a run finishes failed (``failed_runs_check``, called by the
  pipeline's executor). The strategy is deactivated when its latest ``max_failed_runs``
  finished runs all failed; a succeeded (or recovered) run in between resets the count. Runs
  that did not run (skipped, expired) and abandoned ones (the reaper's, not the run's fault)
  neither count nor reset; runs from before the latest automatic deactivation do not count,
  so an operator who re-activates gets ``max_failed_runs`` fresh runs.
- Fires once: the check holds the strategy's row lock and deactivates only an active
  strategy; a daily loss fires at most once a day, a drawdown restarts the high-water mark.
- Backtests: evaluation runs (backtest, replay) and a backtest's copies of strategies
  (``backtest_of`` set) are never checked — deterministic backtests, and a backtest's failures
  never deactivate the live strategy.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.lineage.models import EVALUATION_TRIGGERS, Run, RunStatus
from apps.positions.equity import Equity, positions_equity
from apps.strategies.lifecycle import strategy_deactivate
from apps.strategies.models import Strategy, StrategyEquityMark
from apps.strategies.notices import strategy_deactivated_notify
from apps.trading.triggers import (
    TriggerEvent,
    TriggerKind,
    TriggerReport,
    accounts_limits_check,
    equity_breaches_consume,
    equity_limits_breached,
    equity_mark_update,
)

logger = logging.getLogger(__name__)
# A finished run that counts: failed, or a success that resets the count.
COUNTED_RUN_STATUSES = (RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.RECOVERED)


def strategy_equity(*, strategy: Strategy) -> Equity:
    """The strategy's equity in its symbol's currency: capital + P&L of its positions."""
    return positions_equity(
        positions=Q(strategy_id=strategy.pk),
        currency=strategy.symbol.currency,
        starting=strategy.capital,
    )


def _deactivate(
    strategy: Strategy, *, kinds: tuple[str, ...], reason: str, now: datetime
) -> TriggerEvent:
    """Deactivate the locked, active ``strategy`` with the automatic ``reason``; the event is
    announced (``trigger_fired``) once the transaction commits."""
    strategy_deactivate(strategy=strategy)
    Strategy.objects.filter(pk=strategy.pk).update(
        auto_deactivated_at=now, auto_deactivation_reason=reason
    )
    strategy.auto_deactivated_at, strategy.auto_deactivation_reason = now, reason
    event = TriggerEvent(
        kinds=kinds,
        scope="strategy",
        subject_id=strategy.pk,
        subject=strategy.slug,
        account_id=strategy.account_id,
        reason=reason,
        at=now,
    )
    transaction.on_commit(lambda: strategy_deactivated_notify(event))
    return event


def strategy_limits_fire(*, strategy_id: int, now: datetime) -> TriggerEvent | None:
    """Check the strategy's daily loss and drawdown limits at ``now`` (tz-aware UTC) and
    deactivate it when one is breached (module docstring); an inactive strategy's equity is
    recorded on its mark but nothing fires. Returns the event when it fired, else None (no
    limit, inactive, a backtest's copy, nothing breached). Raises Strategy.DoesNotExist for
    an unknown id."""
    with transaction.atomic():
        strategy = (
            Strategy.objects.select_for_update(of=("self",))
            .select_related("symbol")
            .get(pk=strategy_id)
        )
        if strategy.backtest_of_id is not None:
            return None
        if strategy.daily_loss_limit is None and strategy.max_drawdown_pct is None:
            return None
        equity = strategy_equity(strategy=strategy)
        mark = StrategyEquityMark.objects.filter(strategy_id=strategy.pk).first()
        is_new = mark is None
        if mark is None:
            mark = StrategyEquityMark(strategy=strategy)
        equity_mark_update(mark, equity=equity, now=now, is_new=is_new)
        breaches = equity_limits_breached(
            mark,
            equity=equity,
            daily_loss_limit=strategy.daily_loss_limit,
            max_drawdown_pct=strategy.max_drawdown_pct,
        )
        event = None
        # An inactive strategy's mark is kept current (its open positions still move), so
        # once re-activated its day starts from what was last seen, not from before the pause.
        if breaches and strategy.is_active:
            equity_breaches_consume(mark, breaches)
            reason = "automatic trigger: " + "; ".join(breach.reason for breach in breaches)
            event = _deactivate(
                strategy, kinds=tuple(b.kind for b in breaches), reason=reason, now=now
            )
        mark.save()
    return event


def strategies_with_limits() -> list[int]:
    """Ids of the strategies (active or not; not a backtest's copies) with a daily loss or
    drawdown limit, by id."""
    return list(
        Strategy.objects.filter(backtest_of__isnull=True)
        .filter(Q(daily_loss_limit__isnull=False) | Q(max_drawdown_pct__isnull=False))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def risk_triggers_check(*, now: datetime) -> TriggerReport:
    """One pass of the equity triggers at ``now`` (tz-aware UTC): every account's limits
    (``apps.trading.triggers.accounts_limits_check``: halts), then every strategy's
    (``strategy_limits_fire``: deactivates an active one). Called by each monitor pass after
    the new fills are recorded. A failing check is reported in ``errors`` and never stops the
    others."""
    report = TriggerReport()
    accounts_limits_check(now=now, report=report)
    for strategy_id in strategies_with_limits():
        try:
            event = strategy_limits_fire(strategy_id=strategy_id, now=now)
        except Exception as error:  # one failing strategy must not stop the others
            logger.exception("Strategy %s: limits check failed", strategy_id)
            report.errors.append(
                f"limits of strategy {strategy_id}: {type(error).__name__}: {error}"
            )
            continue
        report.checked += 1
        if event is not None:
            report.events.append(event)
    return report


def failed_runs_in_a_row(*, strategy: Strategy) -> int:
    """How many of the strategy's latest counted runs (failed, succeeded, recovered; not
    evaluation runs; created after its latest automatic deactivation) failed in a row,
    newest first, looking back at most ``max_failed_runs`` (or 1 when off)."""
    runs = Run.objects.filter(strategy_id=strategy.pk, status__in=COUNTED_RUN_STATUSES).exclude(
        trigger__in=EVALUATION_TRIGGERS
    )
    if strategy.auto_deactivated_at is not None:
        runs = runs.filter(created_at__gt=strategy.auto_deactivated_at)
    latest = runs.order_by("-id").values_list("status", flat=True)[: strategy.max_failed_runs or 1]
    count = 0
    for status in latest:
        if status != RunStatus.FAILED:
            break
        count += 1
    return count


def failed_runs_check(*, run: Run) -> TriggerEvent | None:
    """After ``run`` finished (at its ``finished_at``): when it failed and its strategy's
    latest ``max_failed_runs`` counted runs all failed (``failed_runs_in_a_row``), deactivate
    the strategy (module docstring). Returns the event when it fired, else None. Never
    raises: a failing check is logged and must not change the run's outcome."""
    if run.status != RunStatus.FAILED or run.trigger in EVALUATION_TRIGGERS:
        return None
    now = run.finished_at or timezone.now()
    try:
        with transaction.atomic():
            strategy = Strategy.objects.select_for_update().get(pk=run.strategy_id)
            limit = strategy.max_failed_runs
            if limit is None or not strategy.is_active or strategy.backtest_of_id is not None:
                return None
            failed = failed_runs_in_a_row(strategy=strategy)
            if failed < limit:
                return None
            reason = (
                f"automatic trigger: {failed} failed runs in a row (limit {limit}); the latest, "
                f"run {run.pk}: {run.error_message or 'failed'}"
            )
            return _deactivate(strategy, kinds=(TriggerKind.FAILED_RUNS,), reason=reason, now=now)
    except Exception:  # the trigger must never change how the run ended
        logger.exception("Strategy %s: failed runs check failed", run.strategy_id)
        return None
