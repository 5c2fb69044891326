"""Shared helpers of the order tests: a strategy on a fresh symbol and an accepted signal's
bracket built by ``bracket_create`` (not yet sent to any broker)."""

from datetime import UTC, datetime
from decimal import Decimal

from apps.lineage.services import run_create
from apps.orders.models import Order
from apps.orders.services import bracket_create
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from tests.factories import StrategyFactory, SymbolFactory

D = Decimal
# Bars 0..8 (Jan 1..9) close before the run; bar 9 (Jan 10) is the first the order can meet.
AS_OF = datetime(2020, 1, 10, tzinfo=UTC)


def make_strategy(**fields: object) -> Strategy:
    """A MKT GTC strategy on a new New York symbol with a 0.01 tick; ``fields`` override."""
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    defaults: dict[str, object] = {"order_type": "MKT", "time_in_force": "GTC"}
    return StrategyFactory.create(symbol=symbol, **{**defaults, **fields})


def make_bracket(
    strategy: Strategy,
    *,
    quantity: str = "10",
    action: str = "BUY",
    entry: str = "100",
    stop: str = "95",
    target: str = "110",
    as_of: datetime = AS_OF,
    broker_name: str = "paper",
) -> list[Order]:
    """The bracket (entry, take profit, stop loss) of a new run of ``strategy`` as of ``as_of``
    whose accepted signal has the given prices (strings, in the symbol's currency); the orders
    are built for ``broker_name`` and not submitted."""
    run = run_create(strategy_id=strategy.pk, as_of=as_of)
    signal = Signal(
        strategy=strategy,
        run=run,
        action=action,
        confidence=D("0.8"),
        entry=D(entry),
        stop_loss=D(stop),
        take_profit=D(target),
        status="accepted",
    )
    signal.save()
    return bracket_create(
        run=run, signal=signal, strategy=strategy, quantity=D(quantity), broker_name=broker_name
    )
