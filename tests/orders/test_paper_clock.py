"""The paper clock: a backtest's account is filled only on bars closed by its clock, and a
bounded poll or advance replays only the bars closed by its bound."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.orders.brokers import BracketSpec, OrderSpec
from apps.orders.paper_broker import PaperBroker, paper_advance
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.factories import AccountFactory, SymbolFactory, make_bars

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
MARKET_TIME = datetime(2020, 1, 3, tzinfo=UTC)  # bar 2 (2020-01-03, closes 01-04) is the first
CHILD = ("c-entry", "c-oca")
REFS = ["c-entry", "c-tp", "c-sl"]


def _bracket(account: Account, symbol: Symbol) -> BracketSpec:
    """Buy 10 at market; take profit 110 (bar 3 reaches 121), stop 95."""
    return BracketSpec(
        account_key=account.broker_key,
        position_side="LONG",
        symbol_id=symbol.pk,
        bar_size="1 day",
        market_time=MARKET_TIME,
        orders=(
            OrderSpec("c-entry", "entry", "BUY", "MKT", D(10), None, None, "GTC"),
            OrderSpec("c-tp", "take_profit", "SELL", "LMT", D(10), D(110), None, "GTC", *CHILD),
            OrderSpec("c-sl", "stop_loss", "SELL", "STP", D(10), None, D(95), "GTC", *CHILD),
        ),
    )


@pytest.fixture
def symbol() -> Symbol:
    symbol = SymbolFactory.create(timezone="UTC")
    make_bars(symbol, [100.0, 100.0, 100.0, 120.0], start=START)
    return symbol


def _statuses(states: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {s.client_order_ref: s.status for s in states}


def test_an_account_with_a_clock_is_not_filled_by_a_bar_closing_after_it(symbol: Symbol) -> None:
    # given a backtest account whose clock is inside bar 2 (it closes 2020-01-04 00:00)
    account = AccountFactory.create(paper_clock=datetime(2020, 1, 3, 22, tzinfo=UTC))
    broker = PaperBroker()
    broker.submit_bracket(_bracket(account, symbol))

    # when the book is polled without a bound (as the order step and the monitor do)
    states, executions = broker.poll(REFS)

    # then bar 2 has not closed by the clock: nothing fills
    assert executions == []
    assert set(_statuses(states).values()) == {"submitted"}
    # nor with a later explicit bound: the earlier of the two wins
    assert broker.poll(REFS, until=datetime(2020, 1, 9, tzinfo=UTC))[1] == []

    # when the clock reaches bar 2's close
    Account.objects.filter(pk=account.pk).update(paper_clock=datetime(2020, 1, 4, tzinfo=UTC))
    states, executions = paper_advance(account.broker_key, datetime(2020, 1, 9, tzinfo=UTC))

    # then the entry fills at bar 2's open; bar 3 (the take profit's) has not closed yet
    assert [(e.client_order_ref, e.executed_at) for e in executions] == [("c-entry", MARKET_TIME)]
    assert _statuses(states) == {"c-entry": "filled", "c-tp": "submitted", "c-sl": "submitted"}

    # when the clock passes bar 3's close
    Account.objects.filter(pk=account.pk).update(paper_clock=datetime(2020, 1, 5, tzinfo=UTC))
    states, executions = paper_advance(account.broker_key, datetime(2020, 1, 5, tzinfo=UTC))

    # then the take profit fills and cancels the stop (one OCA group)
    assert sorted(e.client_order_ref for e in executions) == ["c-entry", "c-tp"]
    assert _statuses(states)["c-sl"] == "cancelled"


def test_a_bounded_poll_replays_only_closed_bars_and_no_bound_replays_all(symbol: Symbol) -> None:
    account = AccountFactory.create()  # no clock: an ordinary paper account
    broker = PaperBroker()
    broker.submit_bracket(_bracket(account, symbol))

    assert broker.poll(REFS, until=datetime(2020, 1, 3, 23, tzinfo=UTC))[1] == []
    bounded = broker.poll(REFS, until=datetime(2020, 1, 4, tzinfo=UTC))[1]
    assert [e.client_order_ref for e in bounded] == ["c-entry"]

    _, executions = broker.poll(REFS)  # today's behaviour: every stored bar
    assert sorted(e.client_order_ref for e in executions) == ["c-entry", "c-tp"]
