"""Closing strategy positions on the paper book: one position, and close-all by scope."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.orders.models import Fill, Order, OrderReason, OrderRole, PaperOrder, PositionAction
from apps.orders.monitor import orders_monitor
from apps.orders.paper_broker import PaperBroker
from apps.orders.position_actions import (
    CloseRequest,
    PositionCloseInProgressError,
    PositionNotOpenError,
    position_close,
    positions_close_all,
)
from apps.orders.position_rebuild import positions_rebuild
from apps.orders.services import bracket_submit
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.factories import AccountFactory, StrategyFactory, SymbolFactory, UserFactory, make_bars
from tests.orders.helpers import AS_OF, make_bracket

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
# Jan 1..9 close at 100 before the run (AS_OF, Jan 10); Jan 10..12 stay between 99 and 103.
BEFORE = [100.0] * 9
QUIET = [100.0, 101.0, 102.0]
CLOSE_AT = datetime(2020, 1, 13, tzinfo=UTC)
NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def symbol() -> Symbol:
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [*BEFORE, *QUIET], start=START)
    return symbol


def strategy_on(account: Account, symbol: Symbol) -> Strategy:
    return StrategyFactory.create(
        account=account, owner=account.owner, symbol=symbol, order_type="MKT", time_in_force="GTC"
    )


def opened(strategy: Strategy, action: str = "BUY", quantity: str = "100") -> StrategyPosition:
    """A filled market bracket of ``strategy`` (stop 95 / target 110 for a BUY)."""
    stop, target = ("95", "110") if action == "BUY" else ("105", "90")
    orders = make_bracket(strategy, quantity=quantity, action=action, stop=stop, target=target)
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    orders_monitor(now=NOW)
    return StrategyPosition.objects.get(strategy=strategy, status="open")


def test_a_close_cancels_the_stop_and_target_and_sells_the_whole_position(
    symbol: Symbol,
) -> None:
    account = AccountFactory.create()
    strategy = strategy_on(account, symbol)
    position = opened(strategy)
    make_bars(symbol, [103.0], start=CLOSE_AT)
    person = UserFactory.create()

    action = position_close(
        position=position,
        request=CloseRequest(
            kind=OrderReason.PERSON, market_time=CLOSE_AT, requested_by=person, note="news"
        ),
    )

    position.refresh_from_db()
    assert (position.status, position.quantity) == ("closed", D(0))
    # bought 100 at 100.01 (1.00 commission), sold at 102.99 (open 103 less a tick): 298 − 2
    assert position.realized_pnl == D("296")
    [exit_order] = Order.objects.filter(role=OrderRole.EXIT)
    assert (exit_order.side, exit_order.quantity, exit_order.status) == ("SELL", D(100), "filled")
    assert (exit_order.reason, exit_order.action_id, exit_order.run_id) == (
        "person",
        action.pk,
        None,
    )
    children = Order.objects.filter(strategy=strategy, role__in=("take_profit", "stop_loss"))
    assert set(children.values_list("status", flat=True)) == {"cancelled"}
    assert action.status == "done" and action.requested_by == person and action.note == "news"
    assert sorted(action.detail["cancelled"]) == sorted(c.client_order_ref for c in children)
    assert set(
        PaperOrder.objects.filter(role__in=("take_profit", "stop_loss")).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}


def test_a_close_of_a_flat_position_is_refused_with_the_reason(symbol: Symbol) -> None:
    strategy = strategy_on(AccountFactory.create(), symbol)
    position = opened(strategy)
    make_bars(symbol, [103.0], start=CLOSE_AT)
    request = CloseRequest(kind=OrderReason.PERSON, market_time=CLOSE_AT)
    position_close(position=position, request=request)

    with pytest.raises(PositionNotOpenError, match="nothing to close"):
        position_close(position=position, request=request)
    assert Order.objects.filter(role=OrderRole.EXIT).count() == 1


def test_a_second_close_while_the_first_works_is_refused(symbol: Symbol) -> None:
    strategy = strategy_on(AccountFactory.create(), symbol)
    position = opened(strategy)
    # no bar after the close's market time: the market exit waits at the broker
    request = CloseRequest(kind=OrderReason.PERSON, market_time=CLOSE_AT)
    position_close(position=position, request=request)

    with pytest.raises(PositionCloseInProgressError, match="not sent twice"):
        position_close(position=position, request=request)
    assert PaperOrder.objects.filter(role="exit").count() == 1
    position.refresh_from_db()
    assert position.status == "open"


def test_close_all_cancels_working_entries_and_flattens_two_strategies(symbol: Symbol) -> None:
    account = AccountFactory.create()
    long_one, short_one, waiting = (strategy_on(account, symbol) for _ in range(3))
    opened(long_one, "BUY", "100")
    opened(short_one, "SELL", "60")
    # a limit entry far below the market: working, nothing filled
    [entry, *_] = make_bracket(waiting, quantity="10", entry="50", stop="45", target="60")
    Strategy.objects.filter(pk=waiting.pk).update(order_type="LMT")
    entry.order_type, entry.limit_price = "LMT", D(50)
    entry.save()
    bracket_submit(
        orders=list(Order.objects.filter(run=entry.run)), broker=PaperBroker(), market_time=AS_OF
    )
    make_bars(symbol, [103.0], start=CLOSE_AT)
    person = UserFactory.create()

    report = positions_close_all(
        account=account,
        kind=OrderReason.PERSON,
        market_time=CLOSE_AT,
        requested_by=person,
        note="flatten before the report",
    )

    assert report.errors == []
    assert not StrategyPosition.objects.filter(account=account, status="open").exists()
    entry.refresh_from_db()
    assert entry.status == "cancelled" and entry.client_order_ref in report.cancelled
    exits = Order.objects.filter(role=OrderRole.EXIT).order_by("side")
    assert [(o.side, o.quantity, o.status) for o in exits] == [
        ("BUY", D(60), "filled"),
        ("SELL", D(100), "filled"),
    ]
    parent = report.action
    assert (parent.kind, parent.status, parent.requested_by) == ("person", "done", person)
    assert sorted(parent.detail["closes"]) == sorted(a.pk for a in report.closes)
    assert PositionAction.objects.filter(detail__close_all=parent.pk).count() == 2
    assert PaperBroker().positions(account.broker_key) == []


def test_close_all_of_one_strategy_leaves_the_others(symbol: Symbol) -> None:
    account = AccountFactory.create()
    mine, other = strategy_on(account, symbol), strategy_on(account, symbol)
    opened(mine)
    opened(other)
    make_bars(symbol, [103.0], start=CLOSE_AT)

    positions_close_all(
        account=account, strategy=mine, kind=OrderReason.PERSON, market_time=CLOSE_AT
    )

    assert not StrategyPosition.objects.filter(strategy=mine, status="open").exists()
    assert StrategyPosition.objects.get(strategy=other, status="open").quantity == D(100)
    assert Order.objects.filter(strategy=other, status="submitted").count() == 2


def test_the_rebuild_reproduces_positions_closed_by_a_person(symbol: Symbol) -> None:
    account = AccountFactory.create()
    strategy = strategy_on(account, symbol)
    position = opened(strategy)
    make_bars(symbol, [103.0], start=CLOSE_AT)
    position_close(
        position=position, request=CloseRequest(kind=OrderReason.PERSON, market_time=CLOSE_AT)
    )
    before = list(StrategyPosition.objects.values_list("status", "quantity", "realized_pnl"))
    exit_fill = Fill.objects.get(order__role=OrderRole.EXIT)

    assert not positions_rebuild(account_ids=[account.pk]).changed
    Order.objects.filter(account=account).update(strategy_position=None)
    StrategyPosition.objects.filter(account=account).delete()
    positions_rebuild(account_ids=[account.pk])

    after = list(StrategyPosition.objects.values_list("status", "quantity", "realized_pnl"))
    assert after == before == [("closed", D(0), D("296"))]
    rebuilt = StrategyPosition.objects.get()
    assert Order.objects.get(role=OrderRole.EXIT).strategy_position == rebuilt
    assert PositionAction.objects.get().strategy_position == rebuilt
    exit_fill.refresh_from_db()
    assert (exit_fill.realized_pnl, exit_fill.unattributed_quantity) == (D("296"), D(0))


def test_the_rebuild_keeps_a_working_close_on_its_open_position(symbol: Symbol) -> None:
    account = AccountFactory.create()
    position = opened(strategy_on(account, symbol))
    # no bar after the close's market time: the exit works, unfilled
    position_close(
        position=position, request=CloseRequest(kind=OrderReason.PERSON, market_time=CLOSE_AT)
    )
    assert not positions_rebuild(account_ids=[account.pk]).changed

    Order.objects.filter(account=account).update(strategy_position=None)
    StrategyPosition.objects.filter(account=account).delete()
    positions_rebuild(account_ids=[account.pk])

    rebuilt = StrategyPosition.objects.get(status="open")
    exit_order = Order.objects.get(role=OrderRole.EXIT)
    assert (exit_order.status, exit_order.strategy_position) == ("submitted", rebuilt)
    assert not positions_rebuild(account_ids=[account.pk]).changed


def test_close_all_withdraws_an_unsent_bracket_whole(symbol: Symbol) -> None:
    # given a bracket created by a run that has not sent it yet (pending, all three orders)
    account = AccountFactory.create()
    bracket = make_bracket(strategy_on(account, symbol))

    report = positions_close_all(account=account, kind=OrderReason.PERSON, market_time=CLOSE_AT)

    # then the entry and its stop and target are withdrawn unsent: nothing stays pending
    statuses = set(Order.objects.filter(run=bracket[0].run).values_list("status", flat=True))
    assert statuses == {"cancelled"}
    assert report.cancelled == [bracket[0].client_order_ref]
    assert not PaperOrder.objects.exists()
