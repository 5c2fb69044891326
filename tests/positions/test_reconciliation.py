"""Position reconciliation with plain broker values: broker beside strategies, unattributed
quantity flagged while it lasts, strategy positions never touched."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.positions.models import AccountPosition, StrategyPosition
from apps.positions.reconciliation import account_positions_reconcile
from apps.trading.models import Account
from tests.factories import AccountFactory, StrategyFactory, StrategyPositionFactory, SymbolFactory
from tests.positions.helpers import account_rows

pytestmark = pytest.mark.django_db
D = Decimal
T0 = datetime(2026, 1, 5, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Reported:
    """A broker's position as plain values (what ``apps.orders`` hands over)."""

    symbol_id: int
    side: str
    quantity: Decimal
    average_cost: Decimal | None = None


def two_strategies(account: Account) -> tuple[int, list[StrategyPosition]]:
    """A long 100 and B short 60 of one symbol on ``account``; returns (symbol id, positions)."""
    symbol = SymbolFactory.create()
    positions = [
        StrategyPositionFactory.create(
            account=account,
            strategy=StrategyFactory.create(symbol=symbol, account=account),
            symbol=symbol,
            side=side,
            quantity=D(quantity),
        )
        for side, quantity in (("LONG", "100"), ("SHORT", "60"))
    ]
    return symbol.pk, positions


def test_netting_compares_the_net_with_long_minus_short() -> None:
    account = AccountFactory.create()
    symbol_id, _ = two_strategies(account)

    result = account_positions_reconcile(
        account_id=account.pk, positions=[Reported(symbol_id, "NET", D(40), D(100))], now=T0
    )

    assert account_rows(account) == {"NET": (D(40), D(40), D(0), False)}
    assert result.mismatches == [] and result.compared == 1


def test_hedge_mode_on_the_paper_book_compares_each_side() -> None:
    account = AccountFactory.create(position_mode="hedge")
    symbol_id, _ = two_strategies(account)

    account_positions_reconcile(
        account_id=account.pk,
        positions=[Reported(symbol_id, "LONG", D(100)), Reported(symbol_id, "SHORT", D(-60))],
        now=T0,
    )

    assert account_rows(account) == {
        "LONG": (D(100), D(100), D(0), False),
        "SHORT": (D(-60), D(-60), D(0), False),
    }


def test_unattributed_quantity_is_flagged_while_it_lasts_and_never_fixed() -> None:
    account = AccountFactory.create()
    symbol_id, positions = two_strategies(account)

    # a manual buy of 25 at the broker
    first = account_positions_reconcile(
        account_id=account.pk, positions=[Reported(symbol_id, "NET", D(65))], now=T0
    )
    later = account_positions_reconcile(
        account_id=account.pk,
        positions=[Reported(symbol_id, "NET", D(65))],
        now=T0 + timedelta(minutes=1),
    )

    row = AccountPosition.objects.get(account=account)
    assert (row.broker_quantity, row.strategy_quantity, row.unattributed_quantity) == (
        D(65),
        D(40),
        D(25),
    )
    assert row.flagged_at == T0  # kept while non-zero
    assert first.newly_flagged == 1 and later.newly_flagged == 0
    assert [m.unattributed_quantity for m in later.mismatches] == [D(25)]
    # never silently fixed: the strategies keep their quantities
    assert {
        (p.side, p.quantity)
        for p in StrategyPosition.objects.filter(pk__in=[p.pk for p in positions])
    } == {("LONG", D(100)), ("SHORT", D(60))}

    # when the broker agrees again (the manual trade was reversed), the flag is cleared;
    # a position the broker no longer reports counts as zero
    account_positions_reconcile(
        account_id=account.pk,
        positions=[Reported(symbol_id, "NET", D(40))],
        now=T0 + timedelta(minutes=2),
    )
    assert account_rows(account) == {"NET": (D(40), D(40), D(0), False)}
    account_positions_reconcile(account_id=account.pk, positions=[], now=T0 + timedelta(minutes=3))
    assert account_rows(account) == {"NET": (D(0), D(40), D(-40), True)}


def test_accounts_are_reconciled_apart() -> None:
    mine, theirs = AccountFactory.create(), AccountFactory.create()
    symbol_id, _ = two_strategies(mine)

    account_positions_reconcile(
        account_id=theirs.pk, positions=[Reported(symbol_id, "NET", D(7))], now=T0
    )

    assert account_rows(theirs) == {"NET": (D(7), D(0), D(7), True)}
    assert not AccountPosition.objects.filter(account=mine).exists()
