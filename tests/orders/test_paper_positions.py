"""The paper book per account: positions (netting and hedge mode), cash and buying power per
currency, reconciliation on every monitor pass, and accounts that never touch each other."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.orders.brokers import BrokerPosition, BrokerRejectedError
from apps.orders.models import Order, PaperOrder
from apps.orders.monitor import orders_monitor
from apps.orders.paper_broker import PaperBroker, account_cash
from apps.orders.services import bracket_submit
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from apps.trading.services import account_default_for
from tests.factories import (
    AccountFactory,
    StrategyFactory,
    SymbolFactory,
    UserFactory,
    make_bars,
)
from tests.orders.helpers import AS_OF, make_bracket
from tests.positions.helpers import account_rows

pytestmark = pytest.mark.django_db
D = Decimal
START = datetime(2020, 1, 1, tzinfo=UTC)
# Bars Jan 1..9 close at 100 before the run (AS_OF, Jan 10); Jan 10..12 open 100, 100, 101 and
# reach neither A's stop (95) or target (110) nor B's stop (105) or target (90).
BEFORE = [100.0] * 9
QUIET = [100.0, 101.0, 102.0]
NOW = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def symbol() -> Symbol:
    return SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))


def strategy_on(account: Account, symbol: Symbol) -> Strategy:
    return StrategyFactory.create(
        account=account, owner=account.owner, symbol=symbol, order_type="MKT", time_in_force="GTC"
    )


def open_long_and_short(account: Account, symbol: Symbol) -> tuple[Strategy, Strategy]:
    """A buys 100 (stop 95, target 110), B sells 60 (stop 105, target 90), both at market on
    ``account``, submitted to the paper book; filled by the first monitor pass."""
    make_bars(symbol, [*BEFORE, *QUIET], start=START)
    a, b = strategy_on(account, symbol), strategy_on(account, symbol)
    for strategy, action, quantity, stop, target in (
        (a, "BUY", "100", "95", "110"),
        (b, "SELL", "60", "105", "90"),
    ):
        orders = make_bracket(
            strategy, quantity=quantity, action=action, entry="100", stop=stop, target=target
        )
        bracket_submit(orders=orders, broker=PaperBroker(), market_time=AS_OF)
    return a, b


def open_quantity(strategy: Strategy) -> dict[str, Decimal]:
    held = StrategyPosition.objects.filter(strategy=strategy, status="open")
    return {p.side: p.quantity for p in held}


def test_netting_two_strategies_long_and_short_make_one_net_position(symbol: Symbol) -> None:
    account = AccountFactory.create()
    a, b = open_long_and_short(account, symbol)

    report = orders_monitor(now=NOW)

    assert open_quantity(a) == {"LONG": D(100)} and open_quantity(b) == {"SHORT": D(60)}
    [position] = PaperBroker().positions(account.broker_key)
    assert (position.symbol_id, position.side, position.quantity) == (symbol.pk, "NET", D(40))
    assert account_rows(account) == {"NET": (D(40), D(40), D(0), False)}
    assert report.position_mismatches == [] and report.accounts_reconciled >= 1
    assert set(PaperOrder.objects.values_list("account_key", flat=True)) == {account.broker_key}
    assert set(PaperOrder.objects.values_list("position_side", flat=True)) == {""}


def test_hedge_mode_holds_long_and_short_apart(symbol: Symbol) -> None:
    account = AccountFactory.create(position_mode="hedge")
    open_long_and_short(account, symbol)

    report = orders_monitor(now=NOW)

    held = PaperBroker().positions(account.broker_key)
    assert [(p.side, p.quantity) for p in held] == [("LONG", D(100)), ("SHORT", D(-60))]
    assert account_rows(account) == {
        "LONG": (D(100), D(100), D(0), False),
        "SHORT": (D(-60), D(-60), D(0), False),
    }
    assert report.position_mismatches == []
    entries = PaperOrder.objects.filter(role="entry").order_by("side")
    assert [(o.side, o.position_side) for o in entries] == [("BUY", "LONG"), ("SELL", "SHORT")]


def test_a_stop_closes_only_its_own_strategy_position(symbol: Symbol) -> None:
    # given A long 100 and B short 60 on one netting account, filled
    account = AccountFactory.create()
    a, b = open_long_and_short(account, symbol)
    orders_monitor(now=NOW)

    # when the next bar opens at 94: A's stop (95) fills; B's stop (105) and target (90) do not
    make_bars(symbol, [94.0], start=START + timedelta(days=12))
    report = orders_monitor(now=NOW + timedelta(minutes=1))

    # then A's position is closed with its loss, B's is untouched and still open
    closed_a = StrategyPosition.objects.get(strategy=a)
    open_b = StrategyPosition.objects.get(strategy=b)
    assert closed_a.status == "closed" and closed_a.quantity == 0
    # A: bought 100 at 100.01, stopped out at 93.99 (slippage 0.01 each), 1.00 commission each
    assert (closed_a.realized_pnl, closed_a.outcome) == (D("-604"), "loss")
    assert (open_b.status, open_b.side, open_b.quantity, open_b.realized_pnl) == (
        "open",
        "SHORT",
        D(60),
        D(0),
    )
    stop = Order.objects.get(run__strategy=a, role="stop_loss")
    assert stop.status == "filled" and stop.realized_pnl == closed_a.realized_pnl
    # and the book nets to B's short alone, agreeing with the strategies
    assert account_rows(account) == {"NET": (D(-60), D(-60), D(0), False)}
    assert report.position_mismatches == []
    # the netting book realized B's sell against A's buy (60 × −0.02) and the stop against
    # the rest of the long (40 × −6.02); it now holds B's short at the stop's price
    usd = account_cash(account.broker_key)["USD"]
    assert (usd.realized, usd.commissions) == (D("-242"), D(3))
    assert usd.cash == D(1_000_000) - D(242) - D(3)
    assert usd.open_positions_cost == D(60) * D("93.99")


def test_buying_power_is_per_currency_and_names_it(symbol: Symbol) -> None:
    make_bars(symbol, [*BEFORE, *QUIET], start=START)
    account = AccountFactory.create(cash={"USD": D(5000), "EUR": D(100_000)})
    strategy = strategy_on(account, symbol)
    # a working entry of 10 × 100 ties up 1000 USD
    bracket_submit(orders=make_bracket(strategy), broker=PaperBroker(), market_time=AS_OF)
    assert account_cash(account.broker_key)["USD"].buying_power == D(4000)

    # an entry of 45 × 100 = 4500 USD is more than the 4000 left; the EUR cash does not count
    oversized = make_bracket(strategy, quantity="45")
    with pytest.raises(BrokerRejectedError) as rejected:
        bracket_submit(orders=oversized, broker=PaperBroker(), market_time=AS_OF)
    message = str(rejected.value)
    assert "insufficient buying power in USD" in message
    assert "order value 4500.00 exceeds 4000.00 USD" in message
    assert "working entries 1000.00" in message
    assert set(Order.objects.filter(run=oversized[0].run).values_list("status", flat=True)) == {
        "rejected"
    }


def test_a_currency_the_account_holds_no_cash_in_is_rejected(symbol: Symbol) -> None:
    make_bars(symbol, [*BEFORE, *QUIET], start=START)
    account = AccountFactory.create(cash={"EUR": D(1_000_000)})

    with pytest.raises(BrokerRejectedError, match="holds no USD cash"):
        bracket_submit(
            orders=make_bracket(strategy_on(account, symbol)),
            broker=PaperBroker(),
            market_time=AS_OF,
        )
    assert not PaperOrder.objects.exists()


def test_two_users_accounts_never_touch_each_others_book(symbol: Symbol) -> None:
    # given two users' default paper accounts trading the same symbol
    first, second = (account_default_for(owner=UserFactory.create()) for _ in range(2))
    make_bars(symbol, [*BEFORE, *QUIET], start=START)
    bracket_submit(
        orders=make_bracket(strategy_on(first, symbol), quantity="100"),
        broker=PaperBroker(),
        market_time=AS_OF,
    )
    bracket_submit(
        orders=make_bracket(
            strategy_on(second, symbol), quantity="30", action="SELL", stop="105", target="90"
        ),
        broker=PaperBroker(),
        market_time=AS_OF,
    )

    # when both fill
    report = orders_monitor(now=NOW)

    # then each book holds its own position and its own cash, and nothing is unattributed
    book = PaperBroker()
    assert book.positions(first.broker_key) == [
        BrokerPosition(symbol.pk, "NET", D(100), D("100.01"))
    ]
    assert book.positions(second.broker_key) == [
        BrokerPosition(symbol.pk, "NET", D(-30), D("99.99"))
    ]
    assert account_rows(first) == {"NET": (D(100), D(100), D(0), False)}
    assert account_rows(second) == {"NET": (D(-30), D(-30), D(0), False)}
    assert account_cash(first.broker_key)["USD"].open_positions_cost == D("10001")
    assert account_cash(second.broker_key)["USD"].open_positions_cost == D("2999.7")
    assert report.position_mismatches == []
