"""Shared set-up of the evaluation tests: a schedulable strategy on the shipped GOOG bars and
a wait for a backtest run by Celery workers."""

import time
from typing import Any

from apps.evaluation.models import Backtest, BacktestStatus
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory


def daily_strategy(goog: Symbol, **overrides: Any) -> Strategy:
    """An inactive strategy on ``goog`` with one slot a weekday at 22:00 UTC (after New York's
    close); ``overrides`` replace fields."""
    fields: dict[str, Any] = {
        "symbol": goog,
        "schedule_cron": "0 22 * * 1-5",
        "schedule_timezone": "UTC",
        "is_active": False,
    }
    return StrategyFactory.create(**(fields | overrides))


def backtest_wait(backtest: Backtest, timeout_s: float = 240) -> Backtest:
    """Poll ``backtest`` (every 0.5 s) until it is no longer running; fails the test after
    ``timeout_s`` seconds naming each variant's progress."""
    deadline = time.monotonic() + timeout_s
    while True:
        backtest.refresh_from_db()
        if backtest.status != BacktestStatus.RUNNING:
            return backtest
        counters = list(backtest.variants.values_list("slots_done", "slots_total", "status"))
        assert time.monotonic() < deadline, f"{backtest.kind} still running: {counters}"
        time.sleep(0.5)
