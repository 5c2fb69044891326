"""Positions at IBKR through the real ib_async client and the TWS simulator: orders carry the
account, one net position per account and symbol, a stop closing only its strategy's position,
a manual trade in TWS flagged as unattributed, reconciliation on every (re)connect."""

import socket
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.gateway import ibkr_broker, ibkr_connection, ibkr_connection_close
from apps.orders.brokers import BrokerPosition
from apps.orders.monitor import orders_monitor
from apps.orders.services import bracket_submit
from apps.positions.models import AccountPosition, StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from tests.factories import (
    AccountFactory,
    StrategyFactory,
    StrategyPositionFactory,
    SymbolFactory,
)
from tests.ibkr.adapter.helpers import AS_OF, GOOG_CONID, wait_for
from tests.orders.helpers import make_bracket

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
SIM_ACCOUNT = "DU123456"  # the simulator's own account


@pytest.fixture
def goog(db: None) -> Symbol:
    return SymbolFactory.create(
        symbol="GOOG", conid=GOOG_CONID, primary_exchange="NASDAQ", min_tick=D("0.01")
    )


def ibkr_account(account_id: str = SIM_ACCOUNT) -> Account:
    return AccountFactory.create(broker="ibkr", broker_account_id=account_id)


def live_strategy(account: Account, symbol: Symbol) -> Strategy:
    return StrategyFactory.create(
        account=account, symbol=symbol, order_type="MKT", time_in_force="GTC", trading_mode="live"
    )


def enter(strategy: Strategy, action: str, quantity: str, stop: str, target: str) -> None:
    """Send a market bracket of ``strategy`` to IBKR (the simulator fills it at once)."""
    orders = make_bracket(
        strategy,
        quantity=quantity,
        action=action,
        entry="806",
        stop=stop,
        target=target,
        as_of=AS_OF,
        broker_name="ibkr",
    )
    bracket_submit(orders=orders, broker=ibkr_broker(), market_time=AS_OF)


def open_quantity(strategy: Strategy) -> Decimal:
    held = StrategyPosition.objects.filter(strategy=strategy, status="open")
    return sum((p.quantity for p in held), D(0))


def net_row(account: Account) -> tuple[Decimal, Decimal, Decimal, bool]:
    row = AccountPosition.objects.get(account=account, side="NET")
    return (
        row.broker_quantity,
        row.strategy_quantity,
        row.unattributed_quantity,
        row.flagged_at is not None,
    )


def test_long_and_short_strategies_net_at_ibkr_and_a_stop_closes_only_its_own(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    # given A buys 100 (stop 780) and B sells 60 (stop 830, target 770) on one IBKR account
    account = ibkr_account()
    a, b = live_strategy(account, goog), live_strategy(account, goog)
    enter(a, "BUY", "100", stop="780", target="820")
    enter(b, "SELL", "60", stop="830", target="770")
    wait_for(lambda: open_quantity(a) == 100 and open_quantity(b) == 60)

    # when the monitor runs, IBKR's one net position matches the strategies' long − short
    report = orders_monitor(now=timezone.now())
    assert simulator.positions(SIM_ACCOUNT) == {GOOG_CONID: D(40)}
    assert ibkr_broker().positions(SIM_ACCOUNT) == [
        BrokerPosition(goog.pk, "NET", D(40), D("806.19"))
    ]
    assert net_row(account) == (D(40), D(40), D(0), False)
    assert report.position_mismatches == [] and report.errors == []

    # when the price falls to 779: A's stop fills; B's target (770) and stop (830) do not
    simulator.set_price(GOOG_CONID, D("779"))
    wait_for(lambda: open_quantity(a) == 0)
    orders_monitor(now=timezone.now())

    # then only A's position closed, with its loss; B's is untouched
    closed_a = StrategyPosition.objects.get(strategy=a)
    open_b = StrategyPosition.objects.get(strategy=b)
    assert closed_a.status == "closed" and closed_a.realized_pnl < 0
    assert closed_a.realized_pnl == (D("779") - D("806.19")) * 100 - closed_a.commission
    assert (open_b.status, open_b.quantity, open_b.realized_pnl) == ("open", D(60), D(0))
    assert net_row(account) == (D(-60), D(-60), D(0), False)


def test_a_manual_trade_in_tws_is_flagged_as_unattributed_and_never_fixed(
    simulator: Any, connection: IbkrConnection, goog: Symbol
) -> None:
    account = ibkr_account()
    a = live_strategy(account, goog)
    enter(a, "BUY", "100", stop="780", target="820")
    wait_for(lambda: open_quantity(a) == 100)
    orders_monitor(now=timezone.now())
    assert net_row(account) == (D(100), D(100), D(0), False)

    # when someone buys 25 by hand in TWS
    simulator.manual_trade(GOOG_CONID, "BUY", 25, "806.19")
    report = orders_monitor(now=timezone.now())

    # then the 25 are unattributed and flagged; A's position is left as it was
    assert net_row(account) == (D(125), D(100), D(25), True)
    [line] = report.position_mismatches
    assert f"({SIM_ACCOUNT})" in line and "unattributed 25" in line
    assert open_quantity(a) == 100
    flagged_at = AccountPosition.objects.get(account=account).flagged_at

    # the flag stays while the difference does, and clears when it is sold by hand again
    orders_monitor(now=timezone.now() + timedelta(minutes=1))
    assert AccountPosition.objects.get(account=account).flagged_at == flagged_at
    simulator.manual_trade(GOOG_CONID, "SELL", 25, "806.19")
    report = orders_monitor(now=timezone.now())
    assert net_row(account) == (D(100), D(100), D(0), False)
    assert report.position_mismatches == []


def test_orders_carry_their_account_and_accounts_keep_their_own_positions(
    simulator: Any, ibkr_settings: Any, goog: Symbol
) -> None:
    # given two IBKR accounts of the login (it manages both), one strategy each, opposite sides
    simulator.set_managed_accounts(SIM_ACCOUNT, "DU7654321")
    assert ibkr_connection().call(_managed) == [SIM_ACCOUNT, "DU7654321"]
    mine, theirs = ibkr_account(SIM_ACCOUNT), ibkr_account("DU7654321")
    a, b = live_strategy(mine, goog), live_strategy(theirs, goog)
    enter(a, "BUY", "100", stop="780", target="820")
    enter(b, "SELL", "60", stop="830", target="770")
    wait_for(lambda: open_quantity(a) == 100 and open_quantity(b) == 60)

    report = orders_monitor(now=timezone.now())

    # then IBKR holds each account's own position, and neither is netted with the other
    assert simulator.positions(SIM_ACCOUNT) == {GOOG_CONID: D(100)}
    assert simulator.positions("DU7654321") == {GOOG_CONID: D(-60)}
    assert net_row(mine) == (D(100), D(100), D(0), False)
    assert net_row(theirs) == (D(-60), D(-60), D(0), False)
    assert report.position_mismatches == []


def test_positions_are_reconciled_after_a_reconnect(
    simulator: Any, ibkr_settings: Any, goog: Symbol
) -> None:
    # given an IBKR account with a strategy's long, and a manual trade while Sibyl was away
    account = ibkr_account()
    a = live_strategy(account, goog)
    enter(a, "BUY", "10", stop="780", target="820")
    wait_for(lambda: open_quantity(a) == 10)
    ibkr_connection_close()
    simulator.manual_trade(GOOG_CONID, "SELL", 4, "806")

    # when Sibyl connects again, its connect hook reconciles the positions
    ibkr_connection().call(_noop)
    wait_for(lambda: AccountPosition.objects.filter(account=account).exists())

    # then the 4 sold by hand show as unattributed, flagged
    assert net_row(account) == (D(6), D(10), D(-4), True)
    assert open_quantity(a) == 10


async def _managed(ib: Any) -> list[str]:
    return list(ib.managedAccounts())


async def _noop(ib: Any) -> None:
    return None


def test_an_unreachable_broker_does_not_stop_the_other_accounts(
    settings: Any, goog: Symbol
) -> None:
    # given an IBKR account with a strategy position, TWS down, and a paper account whose
    # strategy holds a position the (empty) paper book does not
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.BROKER, settings.IBKR_READONLY = "ibkr", False
    settings.IBKR_HOST, settings.IBKR_PORT = "127.0.0.1", closed_port
    settings.IBKR_CONNECT_TIMEOUT_S = settings.IBKR_REQUEST_TIMEOUT_S = 1.0
    ibkr_connection_close()
    at_ibkr, paper = ibkr_account(), AccountFactory.create()
    StrategyPositionFactory.create(strategy=live_strategy(at_ibkr, goog))
    StrategyPositionFactory.create(
        strategy=StrategyFactory.create(account=paper, symbol=goog, trading_mode="paper")
    )
    try:
        report = orders_monitor(now=timezone.now())
    finally:
        ibkr_connection_close()

    # then the IBKR account is an error of the pass, and the paper account is reconciled
    assert [e for e in report.errors if f"({SIM_ACCOUNT})" in e] == report.errors != []
    assert report.accounts_reconciled == 1
    assert net_row(paper) == (D(0), D(10), D(-10), True)
    assert not AccountPosition.objects.filter(account=at_ibkr).exists()
