"""Shared helpers of the IBKR adapter tests: the simulator's GOOG contract, a live strategy's
bracket for the ``ibkr`` broker, and waiting for the client's background updates."""

import time
from collections.abc import Callable
from datetime import UTC, datetime

from apps.orders.models import Order
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory
from tests.orders.helpers import make_bracket

GOOG_CONID = 208813720
AS_OF = datetime(2013, 3, 1, 22, tzinfo=UTC)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``predicate`` until it is true; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def live_bracket(
    symbol: Symbol, *, order_type: str = "LMT", entry: str = "800", quantity: str = "10"
) -> list[Order]:
    """The bracket of a new live GTC strategy on ``symbol``: BUY at ``entry`` (a string price),
    stop 780, target 820, built for the ``ibkr`` broker as of ``AS_OF`` and not submitted."""
    strategy = StrategyFactory.create(
        symbol=symbol, order_type=order_type, time_in_force="GTC", trading_mode="live"
    )
    return make_bracket(
        strategy,
        quantity=quantity,
        entry=entry,
        stop="780",
        target="820",
        as_of=AS_OF,
        broker_name="ibkr",
    )
