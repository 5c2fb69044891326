"""A backtest walks simulated time as the live beat would: reverses and scale-ins go on once
their orders fill, and the end-of-day close fires at each session's window, in the window —
while the live monitor leaves a backtest's account alone."""

from datetime import UTC, datetime

import pytest

from apps.evaluation.models import BacktestStatus
from apps.evaluation.services import backtest_create, backtest_run
from apps.orders.followups import WAITING, reverses_continue
from apps.orders.models import Order, PositionAction
from apps.symbols.calendars import session_close_windows
from apps.symbols.models import Symbol
from tests.evaluation.helpers import daily_strategy

pytestmark = pytest.mark.django_db(transaction=False)

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 6, 30, 23, 59, tzinfo=UTC)


def test_end_of_day_windows_follow_the_exchange_calendar() -> None:
    windows = session_close_windows(
        calendar_name="XNYS",
        minutes_before=15,
        after=datetime(2012, 3, 8, 21, tzinfo=UTC),
        until=datetime(2012, 3, 13, 23, tzinfo=UTC),
    )
    # 3/8's window opened before ``after``; New York moved to summer time on 3/11
    assert windows == [
        (datetime(2012, 3, 9, 20, 45, tzinfo=UTC), datetime(2012, 3, 9, 21, tzinfo=UTC)),
        (datetime(2012, 3, 12, 19, 45, tzinfo=UTC), datetime(2012, 3, 12, 20, tzinfo=UTC)),
        (datetime(2012, 3, 13, 19, 45, tzinfo=UTC), datetime(2012, 3, 13, 20, tzinfo=UTC)),
    ]
    # the day after Thanksgiving closes at 13:00 New York; Good Friday has no session
    thanksgiving = session_close_windows(
        calendar_name="XNYS",
        minutes_before=30,
        after=datetime(2012, 11, 23, tzinfo=UTC),
        until=datetime(2012, 11, 24, tzinfo=UTC),
    )
    assert thanksgiving == [
        (datetime(2012, 11, 23, 17, 30, tzinfo=UTC), datetime(2012, 11, 23, 18, tzinfo=UTC))
    ]
    assert not session_close_windows(
        calendar_name="XNYS",
        minutes_before=15,
        after=datetime(2012, 4, 6, tzinfo=UTC),
        until=datetime(2012, 4, 7, tzinfo=UTC),
    )
    assert not session_close_windows(calendar_name="", minutes_before=15, after=START, until=END)


def test_a_backtests_reverses_go_on_in_simulated_time(goog: Symbol) -> None:
    strategy = daily_strategy(goog, opposite_signal="reverse")

    backtest = backtest_run(backtest_create(strategy=strategy, start=START, end=END))

    assert backtest.status == BacktestStatus.DONE, backtest.error
    clone = backtest.variants.get(reference=False).clone
    reverses = PositionAction.objects.filter(strategy=clone, kind="reverse")
    states = [a.detail.get("then", {}).get("state") for a in reverses]
    assert states, "the baseline analyst never reversed in the window"
    # only a reverse whose close had not filled by the window's end may still wait
    assert states.count(WAITING) <= 1, states
    assert "sent" in states, states
    sent = [a for a in reverses if a.detail["then"]["state"] == "sent"]
    for action in sent:
        exit_order = Order.objects.get(action=action, role="exit")
        entry = Order.objects.get(pk=action.detail["then"]["orders"][0])
        assert entry.reason == "reverse" and entry.side == exit_order.side
        # the new bracket reached the market after the close filled, never before
        assert entry.submitted_at is not None and exit_order.filled_at is not None


def test_the_end_of_day_close_fires_in_each_sessions_window(goog: Symbol) -> None:
    goog.trading_calendar = "XNYS"
    goog.save(update_fields=["trading_calendar"])
    strategy = daily_strategy(goog, close_before_session_end_min=30)

    backtest = backtest_run(backtest_create(strategy=strategy, start=START, end=END))

    assert backtest.status == BacktestStatus.DONE, backtest.error
    clone = backtest.variants.get(reference=False).clone
    umbrellas = PositionAction.objects.filter(
        strategy=clone, kind="end_of_day", detail__has_key="scope"
    )
    assert umbrellas.exists()
    windows = dict(
        session_close_windows(calendar_name="XNYS", minutes_before=30, after=START, until=END)
    )
    for action in umbrellas:
        assert action.market_time in windows, action.market_time
        assert action.detail["session_close"] == windows[action.market_time].isoformat()
        assert action.status == "done", action.error_message
    # on daily bars an entry sent after the close cannot fill before the next day's bar has
    # closed, so each window finds it still working and withdraws it, as live paper would
    cancelled = [ref for a in umbrellas for ref in a.detail["cancelled"]]
    assert cancelled
    entries = Order.objects.filter(strategy=clone, client_order_ref__in=cancelled)
    assert set(entries.values_list("status", flat=True)) == {"cancelled"}
    assert not Order.objects.filter(strategy=clone, status="filled", role="entry").exists()
    # at most one end-of-day close per session
    assert umbrellas.count() == len({a.market_time for a in umbrellas})


def test_the_live_monitor_leaves_a_backtests_reverses_to_its_runner(goog: Symbol) -> None:
    strategy = daily_strategy(goog, opposite_signal="reverse")
    # a window ending right after a reverse's close was sent leaves it waiting
    backtest = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    clone = backtest.variants.get(reference=False).clone
    waiting = PositionAction.objects.filter(
        strategy=clone, kind="reverse", detail__then__state="sent"
    ).first()
    assert waiting is not None
    waiting.detail = {**waiting.detail, "then": {**waiting.detail["then"], "state": WAITING}}
    waiting.save(update_fields=["detail"])

    assert reverses_continue() == []

    waiting.refresh_from_db()
    assert waiting.detail["then"]["state"] == WAITING
