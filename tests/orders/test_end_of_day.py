"""The end-of-day close on the paper book: strategies with ``close_before_session_end_min``
are flattened that many minutes before their exchange's session end, once per session; "now"
is passed to the service, never read from the clock."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from apps.marketdata.models import Bar
from apps.orders.end_of_day import LOCK_NAMESPACE, end_of_day_closes
from apps.orders.models import Order, OrderRole, PaperOrder, PositionAction
from apps.orders.monitor import orders_monitor
from apps.orders.paper_broker import PaperBroker
from apps.orders.services import bracket_submit
from apps.orders.tasks import close_before_session_end
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from celery_app.app import app as celery_app
from tests.factories import AccountFactory, StrategyFactory, SymbolFactory, make_bars
from tests.orders.helpers import make_bracket

pytestmark = pytest.mark.django_db
D = Decimal
NY = ZoneInfo("America/New_York")
# Daily bars (00:00 UTC) from Nov 10 to Nov 30 2025, all around 100 (range 99–101): the
# brackets open on Nov 20 and their stop (95) and target (110) are never reached.
BARS_FROM = datetime(2025, 11, 10, tzinfo=UTC)
OPENED_AS_OF = datetime(2025, 11, 20, tzinfo=UTC)
# NYSE: Wednesday Nov 26 closes at 16:00 New York; Friday Nov 28 (after Thanksgiving) at 13:00.
NORMAL_DAY = (2025, 11, 26)
EARLY_CLOSE_DAY = (2025, 11, 28)


def ny(day: tuple[int, int, int], hour: int, minute: int) -> datetime:
    return datetime(*day, hour, minute, tzinfo=NY)


@pytest.fixture
def symbol() -> Symbol:
    symbol = SymbolFactory.create(
        timezone="America/New_York", trading_calendar="XNYS", min_tick=D("0.01")
    )
    make_bars(symbol, [100.0] * 21, start=BARS_FROM)
    return symbol


def strategy_on(account: Account, symbol: Symbol, minutes: int | None) -> Strategy:
    return StrategyFactory.create(
        account=account,
        owner=account.owner,
        symbol=symbol,
        order_type="MKT",
        time_in_force="GTC",
        close_before_session_end_min=minutes,
    )


def opened(strategy: Strategy, as_of: datetime = OPENED_AS_OF) -> StrategyPosition:
    """A market BUY bracket of 100 (stop 95, target 110, both GTC and working) sent at
    ``as_of`` and filled on the next bar."""
    orders = make_bracket(strategy, quantity="100", as_of=as_of)
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=as_of)
    orders_monitor(now=as_of + timedelta(days=1))
    return StrategyPosition.objects.get(strategy=strategy, status="open")


def working_entry(strategy: Strategy) -> Order:
    """A GTC limit BUY at 50, far below the market: submitted, nothing filled."""
    orders = make_bracket(
        strategy, quantity="10", entry="50", stop="45", target="60", as_of=OPENED_AS_OF
    )
    entry = orders[0]
    entry.order_type, entry.limit_price = "LMT", D(50)
    entry.save()
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=OPENED_AS_OF)
    entry.refresh_from_db()
    assert entry.status == "submitted"
    return entry


@pytest.fixture
def account() -> Account:
    return AccountFactory.create()


def test_15_minutes_before_the_close_the_position_is_closed_and_the_entry_cancelled(
    symbol: Symbol, account: Account
) -> None:
    closing = strategy_on(account, symbol, 15)
    position = opened(closing)
    entry = working_entry(closing)

    assert end_of_day_closes(now=ny(NORMAL_DAY, 15, 40)).closed == []
    assert not PositionAction.objects.exists()

    report = end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))

    [umbrella] = PositionAction.objects.filter(pk__in=report.closed)
    assert report.errors == []
    assert (umbrella.kind, umbrella.status, umbrella.strategy) == ("end_of_day", "done", closing)
    assert umbrella.note == "15 min before the session end at 16:00 America/New_York"
    assert umbrella.market_time == ny(NORMAL_DAY, 15, 46)
    assert umbrella.detail["session_close"] == "2025-11-26T21:00:00+00:00"
    position.refresh_from_db()
    assert (position.status, position.quantity) == ("closed", D(0))
    entry.refresh_from_db()
    assert entry.status == "cancelled" and entry.client_order_ref in umbrella.detail["cancelled"]
    [exit_order] = Order.objects.filter(strategy=closing, role=OrderRole.EXIT)
    assert (exit_order.reason, exit_order.side, exit_order.quantity, exit_order.status) == (
        "end_of_day",
        "SELL",
        D(100),
        "filled",
    )
    # The close's own action is an end_of_day action too, part of the umbrella.
    close = exit_order.action
    assert close is not None and close.kind == "end_of_day"
    assert close.detail["close_all"] == umbrella.pk
    # The position's stop and target were cancelled before the exit went out.
    children = Order.objects.filter(
        strategy_position=position, role__in=("take_profit", "stop_loss")
    )
    assert set(children.values_list("status", flat=True)) == {"cancelled"}
    assert PaperBroker().positions(account.broker_key) == []


def test_on_the_early_close_day_the_window_ends_at_13_00(symbol: Symbol, account: Account) -> None:
    closing = strategy_on(account, symbol, 15)
    position = opened(closing)

    # 15:46 is after that day's close: nothing is due.
    assert end_of_day_closes(now=ny(EARLY_CLOSE_DAY, 12, 40)).closed == []
    report = end_of_day_closes(now=ny(EARLY_CLOSE_DAY, 12, 46))

    [umbrella] = PositionAction.objects.filter(pk__in=report.closed)
    assert umbrella.note == "15 min before the session end at 13:00 America/New_York"
    position.refresh_from_db()
    assert position.status == "closed"


def test_a_strategy_without_the_setting_on_the_same_account_is_untouched(
    symbol: Symbol, account: Account
) -> None:
    closing = strategy_on(account, symbol, 15)
    keeping = strategy_on(account, symbol, None)
    opened(closing)
    kept = opened(keeping)
    kept_entry = working_entry(keeping)

    end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))

    assert not StrategyPosition.objects.filter(strategy=closing, status="open").exists()
    kept.refresh_from_db()
    assert (kept.status, kept.quantity) == ("open", D(100))
    # Its GTC stop and target and its GTC entry keep working, at the paper broker too.
    protective = Order.objects.filter(strategy_position=kept, role__in=("take_profit", "stop_loss"))
    assert set(protective.values_list("status", flat=True)) == {"submitted"}
    assert set(
        PaperOrder.objects.filter(
            client_order_ref__in=protective.values_list("client_order_ref", flat=True)
        ).values_list("status", flat=True)
    ) == {"submitted"}
    kept_entry.refresh_from_db()
    assert kept_entry.status == "submitted"
    assert not PositionAction.objects.filter(strategy=keeping).exists()


def test_a_second_tick_in_the_window_sends_nothing(symbol: Symbol, account: Account) -> None:
    closing = strategy_on(account, symbol, 15)
    position = opened(closing)
    # No bar after the close's market time yet: the market exit stays working at the broker.
    Bar.objects.filter(symbol=symbol, ts__gt=datetime(2025, 11, 26, tzinfo=UTC)).delete()

    first = end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))
    second = end_of_day_closes(now=ny(NORMAL_DAY, 15, 47))

    assert len(first.closed) == 1
    assert second.closed == [] and second.already_done == [closing.slug]
    [exit_order] = Order.objects.filter(strategy=closing, role=OrderRole.EXIT)
    assert exit_order.status == "submitted"
    assert PaperOrder.objects.filter(role="exit").count() == 1
    assert PositionAction.objects.filter(detail__has_key="scope").count() == 1
    position.refresh_from_db()
    assert position.status == "open"  # until the exit fills on the next bar


def test_the_next_session_closes_again(symbol: Symbol, account: Account) -> None:
    closing = strategy_on(account, symbol, 15)
    opened(closing)
    end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))
    again = opened(closing, as_of=datetime(2025, 11, 27, 12, tzinfo=UTC))

    report = end_of_day_closes(now=ny(EARLY_CLOSE_DAY, 12, 50))

    assert len(report.closed) == 1
    again.refresh_from_db()
    assert again.status == "closed"


def test_nothing_to_close_records_nothing(symbol: Symbol, account: Account) -> None:
    strategy_on(account, symbol, 15)

    report = end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))

    assert (report.closed, report.errors) == ([], [])
    assert not PositionAction.objects.exists()


def test_a_symbol_without_a_calendar_is_never_closed(account: Account) -> None:
    forex = SymbolFactory.create(sec_type="CASH", timezone="UTC", min_tick=D("0.00005"))
    make_bars(forex, [100.0] * 21, start=BARS_FROM)
    position = opened(strategy_on(account, forex, 15))

    for minute in range(0, 24 * 60, 30):
        end_of_day_closes(now=datetime(*NORMAL_DAY, tzinfo=UTC) + timedelta(minutes=minute))

    position.refresh_from_db()
    assert position.status == "open"
    assert not PositionAction.objects.exists()


def test_the_task_is_on_the_beat_schedule_every_minute() -> None:
    entry = celery_app.conf.beat_schedule["close-before-session-end"]
    assert entry == {"task": "apps.orders.tasks.close_before_session_end", "schedule": 60.0}
    assert close_before_session_end.name == entry["task"]
    # Without strategies nothing is due whatever the clock says.
    assert close_before_session_end() == {
        "closed": [],
        "already_done": [],
        "busy": [],
        "errors": [],
    }


def test_a_strategy_another_tick_is_closing_is_left_to_it(symbol: Symbol, account: Account) -> None:
    closing = strategy_on(account, symbol, 15)
    position = opened(closing)
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, closing.pk])
        report = end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))
    finally:
        other.close()

    assert (report.closed, report.busy) == ([], [closing.slug])
    position.refresh_from_db()
    assert position.status == "open"
    # Once the other tick is gone, the next one closes it.
    assert len(end_of_day_closes(now=ny(NORMAL_DAY, 15, 47)).closed) == 1


def test_a_backtest_copy_is_never_closed_at_the_wall_clock(
    symbol: Symbol, account: Account
) -> None:
    # given a backtest's hidden copy (evaluation) holding a position, with the setting copied
    original = strategy_on(account, symbol, 15)
    copy = strategy_on(AccountFactory.create(), symbol, 15)
    Strategy.objects.filter(pk=copy.pk).update(backtest_of=original, is_active=False)
    held = opened(copy)

    # when a tick falls inside the window
    report = end_of_day_closes(now=ny(NORMAL_DAY, 15, 46))

    # then the copy's position (of a past window) is left alone
    assert report.closed == []
    held.refresh_from_db()
    assert (held.status, held.quantity) == ("open", D(100))
    assert not PositionAction.objects.filter(strategy=copy).exists()
