"""Shared helpers of the order tests: a strategy on a fresh symbol and an accepted signal's
bracket built by ``bracket_create`` (not yet sent to any broker); a strategy on an account and
a long position opened on the paper book."""

from datetime import UTC, datetime
from decimal import Decimal

from apps.lineage.services import run_create
from apps.orders.models import Order
from apps.orders.monitor import orders_monitor
from apps.orders.paper_broker import PaperBroker
from apps.orders.services import bracket_create, bracket_submit
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
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


# After the run: the paper monitor's clock (any time after the bars the bracket meets).
MONITOR_NOW = datetime(2026, 1, 5, tzinfo=UTC)


def strategy_on(account: Account, symbol: Symbol) -> Strategy:
    """A MKT GTC strategy of ``account``'s owner trading ``symbol`` on ``account``."""
    return StrategyFactory.create(
        account=account, owner=account.owner, symbol=symbol, order_type="MKT", time_in_force="GTC"
    )


def open_long(strategy: Strategy, quantity: str = "100") -> StrategyPosition:
    """Long ``quantity`` from a market bracket of ``strategy`` sent to the paper broker as of
    ``AS_OF`` and filled by its monitor (the symbol needs bars from ``AS_OF``); its stop (95)
    and target (110) stay working."""
    orders = make_bracket(strategy, quantity=quantity, stop="95", target="110")
    bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    orders_monitor(now=MONITOR_NOW)
    return StrategyPosition.objects.get(strategy=strategy, status="open")
