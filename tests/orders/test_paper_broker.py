"""The paper broker's own book: lookup by reference, refusal of duplicates, cancellation."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.orders.brokers import BracketSpec, BrokerRejectedError, OrderSpec
from apps.orders.models import PaperExecution, PaperOrder
from apps.orders.paper_broker import PaperBroker
from apps.symbols.models import Symbol
from tests.factories import AccountFactory, SymbolFactory, make_bars

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
MARKET_TIME = datetime(2020, 1, 3, tzinfo=UTC)  # bars 0, 1 before; bar 2 is the first live bar


def bracket(symbol: Symbol) -> BracketSpec:
    """Buy 10 at market for a new paper account (USD 1,000,000); take profit at 110, stop at
    95 (one OCA group)."""
    return BracketSpec(
        account_key=AccountFactory.create().broker_key,
        position_side="LONG",
        symbol_id=symbol.pk,
        bar_size="1 day",
        market_time=MARKET_TIME,
        orders=(
            OrderSpec("t-entry", "entry", "BUY", "MKT", D(10), None, None, "GTC"),
            OrderSpec("t-tp", "take_profit", "SELL", "LMT", D(10), D(110), None, "GTC", *CHILD),
            OrderSpec("t-sl", "stop_loss", "SELL", "STP", D(10), None, D(95), "GTC", *CHILD),
        ),
    )


CHILD = ("t-entry", "t-oca")  # parent reference, OCA group
REFS = ["t-entry", "t-tp", "t-sl"]


@pytest.fixture
def symbol() -> Symbol:
    return SymbolFactory.create(timezone="America/New_York")


def test_lookup_knows_only_the_references_in_the_book(symbol: Symbol) -> None:
    broker = PaperBroker()
    assert broker.lookup(REFS) == {}

    states = broker.submit_bracket(bracket(symbol))

    known = broker.lookup([*REFS, "unknown"])
    assert set(known) == set(REFS)
    assert [s.status for s in states] == ["submitted"] * 3
    assert known["t-entry"] == states[0]


def test_the_book_refuses_a_second_copy_of_a_reference(symbol: Symbol) -> None:
    broker = PaperBroker()
    broker.submit_bracket(bracket(symbol))

    with pytest.raises(BrokerRejectedError, match="duplicate client order reference"):
        broker.submit_bracket(bracket(symbol))

    assert PaperOrder.objects.count() == 3


def test_cancelling_a_working_parent_cancels_its_children(symbol: Symbol) -> None:
    # given a bracket whose entry has no bar to fill on yet
    broker = PaperBroker()
    broker.submit_bracket(bracket(symbol))

    # when
    state = broker.cancel("t-entry")

    # then the whole bracket is cancelled and later bars fill nothing
    assert (state.status, state.reason) == ("cancelled", "cancelled by Sibyl")
    make_bars(symbol, [100.0, 100.0, 100.0, 120.0], start=START)
    states, executions = broker.poll(REFS)
    assert {s.status for s in states} == {"cancelled"}
    assert executions == []


def test_a_cancelled_child_never_fills(symbol: Symbol) -> None:
    # given a long entry filled on Jan 3, then its take-profit cancelled
    make_bars(symbol, [100.0, 100.0, 100.0], start=START)
    broker = PaperBroker()
    broker.submit_bracket(bracket(symbol))
    broker.poll(REFS)
    assert broker.cancel("t-tp").status == "cancelled"

    # when a later bar trades through the cancelled 110 target (Jan 4: 100 → 112, high 113)
    make_bars(symbol, [112.0], start=datetime(2020, 1, 4, tzinfo=UTC))
    states, executions = broker.poll(REFS)

    # then only the entry executed, and the stop keeps protecting the position
    assert [e.client_order_ref for e in executions] == ["t-entry"]
    assert {s.client_order_ref: s.status for s in states} == {
        "t-entry": "filled",
        "t-tp": "cancelled",
        "t-sl": "submitted",
    }
    assert not PaperExecution.objects.filter(paper_order__client_order_ref="t-tp").exists()


def test_poll_replays_the_bars_once_per_execution(symbol: Symbol) -> None:
    make_bars(symbol, [100.0, 100.0, 100.0, 111.0], start=START)
    broker = PaperBroker()
    broker.submit_bracket(bracket(symbol))

    _, first = broker.poll(REFS)
    _, second = broker.poll(REFS)

    assert first == second
    assert [(e.client_order_ref, e.price) for e in first] == [
        ("t-entry", D("100.01")),  # Jan 3 opens at 100, + 1 tick
        ("t-tp", D("110")),  # Jan 4: 100 → 111, high 112
    ]
    assert PaperExecution.objects.count() == 2
