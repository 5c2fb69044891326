"""Walk-forward backtests over the shipped GOOG daily bars with the baseline analyst."""

import io
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.report import backtest_report, report_csv
from apps.evaluation.services import backtest_create, backtest_run, backtest_slots
from apps.lineage.models import Run
from apps.orders.models import Order
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import AccountCash
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db(transaction=False)

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 6, 30, 23, 59, tzinfo=UTC)


def _strategy(goog: Symbol, **overrides: Any) -> Strategy:
    fields: dict[str, Any] = {
        "symbol": goog,
        "schedule_cron": "0 22 * * 1-5",
        "schedule_timezone": "UTC",
        "is_active": False,
    }
    return StrategyFactory.create(**(fields | overrides))


def _outcome(backtest: Backtest) -> dict[str, Any]:
    """The figures that must not depend on ids or wall-clock times."""
    report = backtest_report(backtest)
    variant = report["variants"][0]
    keep = ("trades", "wins", "realized_pnl", "final_equity", "max_drawdown", "sharpe", "exposure")
    trades = [{k: v for k, v in t.items() if k != "opening_run_id"} for t in variant["trade_list"]]
    return {k: variant[k] for k in keep} | {"trade_list": trades, "equity": variant["equity"]}


def test_backtest_is_deterministic_and_isolated(goog: Symbol) -> None:
    strategy = _strategy(goog)
    default_cash = AccountCash.objects.get(account=strategy.account).starting_cash
    began = time.monotonic()
    first = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    elapsed = time.monotonic() - began
    assert first.status == BacktestStatus.DONE
    variant = first.variants.get()
    slots = backtest_slots(strategy, START, END)
    assert variant.slots_done == variant.slots_total == len(slots) > 80
    runs = Run.objects.filter(strategy=variant.clone)
    assert runs.count() == len(slots)
    assert set(runs.values_list("trigger", flat=True)) == {"backtest"}
    assert sorted(runs.values_list("as_of", flat=True)) == slots
    # the variant trades its own paper account, never the owner's
    assert variant.account.pk != strategy.account.pk
    assert not Order.objects.filter(account=strategy.account).exists()
    assert AccountCash.objects.get(account=variant.account).starting_cash == default_cash
    report = backtest_report(first)
    json.dumps(report)  # serialisable
    row = report["variants"][0]
    assert row["trades"] > 0, row
    assert row["llm_calls"] == 0  # the baseline analyst calls no model
    assert report["buy_and_hold"]["final_equity"] is not None
    out = io.StringIO()
    report_csv(report, out)
    assert out.getvalue().splitlines()[0].startswith("label,trades,win_rate")
    assert len(out.getvalue().splitlines()) == 3

    second = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    assert _outcome(second) == _outcome(first)
    print(f"GOOG {len(slots)} daily slots: {elapsed:.1f} s")
