"""The stale data guard: a run does not trade on bars older than the bar size and the exchange
calendar allow at its as-of (judged at the as-of, so backtests and past-dated runs pass)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.marketdata.bar_sizes import bars_staleness
from apps.orders.models import Order
from apps.pipeline.executor import strategy_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory
from tests.factories import decision_answer as decision


def _stale(last_open: datetime, as_of: datetime, bar_size: str, calendar: str = "") -> str:
    return bars_staleness(
        last_open=last_open, as_of=as_of, bar_size=bar_size, trading_calendar=calendar
    )


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc,arg-type]


def test_daily_bars_follow_the_exchanges_sessions() -> None:
    friday = t(2012, 6, 1)
    # Monday before the open: Friday's bar is the newest that closed — fresh
    assert _stale(friday, t(2012, 6, 4, 12), "1 day", "XNYS") == ""
    # Monday after the close: Monday's bar is due and missing — stale, with its age
    reason = _stale(friday, t(2012, 6, 4, 22), "1 day", "XNYS")
    assert reason.startswith("latest bar 2012-06-01 00:00 UTC (1 day) closed 2 days"), reason
    # the Monday after Good Friday (2012-04-06): Thursday's bar is still the newest
    assert _stale(t(2012, 4, 5), t(2012, 4, 9, 12), "1 day", "XNYS") == ""


def test_intraday_bars_count_only_trading_minutes() -> None:
    last = t(2012, 6, 1, 19)  # Friday 15:00 New York; the bar closed at the 16:00 close
    assert _stale(last, t(2012, 6, 4, 13, 45), "1 hour", "XNYS") == ""  # 15 min traded since
    assert "a newer one was due" in _stale(last, t(2012, 6, 4, 15), "1 hour", "XNYS")  # 90 min
    # a 24/7 market trades through the weekend
    assert _stale(t(2012, 6, 2, 10), t(2012, 6, 2, 13), "1 hour", "24/7") != ""
    assert _stale(t(2012, 6, 2, 10), t(2012, 6, 2, 11, 30), "1 hour", "24/7") == ""


def test_without_a_calendar_weekends_and_a_holiday_are_forgiven_not_years() -> None:
    friday = t(2012, 6, 1)
    assert _stale(friday, t(2012, 6, 4, 22), "1 day") == ""
    assert _stale(t(2013, 3, 1), t(2026, 12, 7, 14), "1 day").startswith(
        "latest bar 2013-03-01 00:00 UTC (1 day) closed 5028 days before the as-of"
    )
    assert _stale(t(2012, 5, 29), t(2012, 6, 4, 22), "1 day") != ""  # a whole week missing


@pytest.mark.django_db
def test_a_run_now_on_the_shipped_store_does_not_trade(goog: Symbol, llm_server: Any) -> None:
    strategy = StrategyFactory.create(symbol=goog, analyst="openai")
    llm_server.answer_with(decision())

    run = strategy_run(strategy=strategy, as_of=t(2026, 12, 7, 14), trigger="manual")

    assert run.status == "succeeded", run.error_message
    signal = Signal.objects.get(run=run)
    assert signal.status == "rejected"
    [reason] = signal.rejection_reasons
    assert reason.startswith("latest bar 2013-03-01 00:00 UTC (1 day) closed"), reason
    assert not Order.objects.exists()
    # the same decision as of a moment the store covers trades
    llm_server.answer_with(decision())
    past = strategy_run(strategy=strategy, as_of=t(2012, 6, 1), trigger="manual")
    assert Signal.objects.get(run=past).status == "accepted"
