"""Rebuilding strategy positions from fills: random fill sequences through the real fill path
(``orders_apply``) on brackets of several strategies sharing one account and symbol, then the
accounting identities and the rebuild reproducing the stored state exactly."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.orders.brokers import Execution
from apps.orders.models import Fill, Order
from apps.orders.position_rebuild import POSITION_FIELDS, positions_rebuild
from apps.orders.services import orders_apply
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.strategies.models import Strategy
from apps.trading.models import Account
from tests.factories import AccountFactory, StrategyFactory, SymbolFactory
from tests.orders.helpers import AS_OF, make_bracket

pytestmark = pytest.mark.django_db
D = Decimal
LEGS = ("entry", "take_profit", "stop_loss")

brackets_st = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["BUY", "SELL"]), st.integers(1, 20)),
    min_size=1,
    max_size=5,
)
events_st = st.lists(
    st.tuples(
        st.integers(0, 4),  # bracket (modulo the number of brackets)
        st.sampled_from(LEGS),
        st.integers(1, 20),  # quantity wanted (cut to what the order has left)
        st.integers(90, 110),  # price
        st.sampled_from(["0", "1", "1.25"]),  # commission
    ),
    min_size=1,
    max_size=14,
)


def _world() -> tuple[Account, list[Strategy]]:
    """Three MKT GTC strategies of one owner on one account, all in one symbol."""
    account = AccountFactory.create()
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    strategies = [
        StrategyFactory.create(
            account=account, symbol=symbol, order_type="MKT", time_in_force="GTC"
        )
        for _ in range(3)
    ]
    return account, strategies


def _play(
    strategies: list[Strategy],
    brackets: list[tuple[int, str, int]],
    events: list[tuple[int, str, int, int, str]],
) -> None:
    """Create the brackets, then report each event's execution through ``orders_apply``."""
    legs: list[dict[str, Order]] = []
    for n, (strategy_index, action, quantity) in enumerate(brackets):
        prices = {"entry": "100", "stop": "95", "target": "110"}
        if action == "SELL":
            prices = {"entry": "100", "stop": "105", "target": "90"}
        orders = make_bracket(
            strategies[strategy_index],
            action=action,
            quantity=str(quantity),
            as_of=AS_OF + timedelta(days=n),
            **prices,
        )
        legs.append({o.role: o for o in orders})
    left: dict[int, Decimal] = {o.pk: o.quantity for bracket in legs for o in bracket.values()}
    for n, (bracket_index, leg, wanted, price, commission) in enumerate(events):
        order = legs[bracket_index % len(legs)][leg]
        amount = min(D(wanted), left[order.pk])
        if amount <= 0:
            continue
        left[order.pk] -= amount
        orders_apply(
            states=[],
            executions=[
                Execution(
                    f"exec-{order.pk}-{n}",
                    order.client_order_ref,
                    AS_OF + timedelta(days=30, minutes=n),
                    amount,
                    D(price),
                    D(commission),
                )
            ],
        )


def _stored(account: Account) -> tuple[list[Any], list[Any], list[Any]]:
    """Every stored value the rebuild computes, for the account (position ids included)."""
    positions = list(
        StrategyPosition.objects.filter(account=account)
        .order_by("id")
        .values_list("id", *POSITION_FIELDS)
    )
    fills = list(
        Fill.objects.filter(order__account=account)
        .order_by("id")
        .values_list("id", "realized_pnl", "unattributed_quantity")
    )
    orders = list(
        Order.objects.filter(account=account)
        .order_by("id")
        .values_list("id", "strategy_position_id", "realized_pnl")
    )
    return positions, fills, orders


def _without_position_ids(state: tuple[list[Any], list[Any], list[Any]]) -> Any:
    """The state with positions numbered by creation order instead of their ids."""
    positions, fills, orders = state
    number = {row[0]: n for n, row in enumerate(positions)}
    return (
        [row[1:] for row in positions],
        fills,
        [(pk, number.get(position), realized) for pk, position, realized in orders],
    )


def _check_identities(account: Account) -> None:
    open_positions = StrategyPosition.objects.filter(account=account, status=PositionStatus.OPEN)
    held = sum(
        (p.quantity if p.side == PositionSide.LONG else -p.quantity for p in open_positions),
        D(0),
    )
    fills = Fill.objects.filter(order__account=account).select_related("order")
    net = sum(
        (
            (1 if f.order.side == "BUY" else -1) * (f.quantity - f.unattributed_quantity)
            for f in fills
        ),
        D(0),
    )
    assert held == net
    realized_positions = sum(
        (p.realized_pnl for p in StrategyPosition.objects.filter(account=account)), D(0)
    )
    assert sum((f.realized_pnl for f in fills), D(0)) == realized_positions
    for order in Order.objects.filter(account=account).prefetch_related("fills"):
        assert order.realized_pnl == sum((f.realized_pnl for f in order.fills.all()), D(0))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(brackets=brackets_st, events=events_st)
def test_random_fills_keep_the_books_and_the_rebuild_reproduces_them(
    brackets: list[tuple[int, str, int]], events: list[tuple[int, str, int, int, str]]
) -> None:
    with transaction.atomic():
        account, strategies = _world()
        _play(strategies, brackets, events)
        _check_identities(account)
        live = _stored(account)

        # the rebuild finds nothing to change, twice
        for _ in range(2):
            report = positions_rebuild(account_ids=[account.pk])
            assert not report.changed, report
            assert _stored(account) == live

        # from a spoiled state, the rebuild restores the same numbers, then keeps its ids
        Fill.objects.filter(order__account=account).update(realized_pnl=D("7"))
        Order.objects.filter(account=account).update(strategy_position=None, realized_pnl=D("3"))
        StrategyPosition.objects.filter(account=account).delete()
        positions_rebuild(account_ids=[account.pk])
        rebuilt = _stored(account)
        assert _without_position_ids(rebuilt) == _without_position_ids(live)
        assert not positions_rebuild(account_ids=[account.pk]).changed
        assert _stored(account) == rebuilt

        # stored positions that differ (open ones among them) are replaced, orders repointed
        count = StrategyPosition.objects.filter(account=account).update(commission=D("123"))
        report = positions_rebuild(account_ids=[account.pk])
        assert (report.positions_deleted, report.positions_created) == (count, count)
        assert _without_position_ids(_stored(account)) == _without_position_ids(live)
        transaction.set_rollback(True)


def test_rebuild_positions_command_prints_what_changed_and_then_nothing() -> None:
    # given a round trip of one strategy whose stored position was lost
    account, strategies = _world()
    _play(
        strategies, [(0, "BUY", 10)], [(0, "entry", 10, 100, "1"), (0, "take_profit", 10, 110, "1")]
    )
    StrategyPosition.objects.filter(account=account).update(realized_pnl=D("0"))
    other, other_strategies = _world()
    _play(other_strategies, [(1, "SELL", 5)], [(0, "entry", 5, 100, "0")])
    untouched = _stored(other)

    # when the account is rebuilt
    out = StringIO()
    call_command("rebuild_positions", "--account", str(account.pk), stdout=out)

    # then its position is replaced with the replayed numbers; the other account is untouched
    assert "strategy positions: 1 deleted, 1 created" in out.getvalue()
    position = StrategyPosition.objects.get(account=account)
    assert (position.status, position.realized_pnl, position.outcome) == ("closed", D("98"), "win")
    assert _stored(other) == untouched
    out = StringIO()
    call_command("rebuild_positions", stdout=out)
    assert "nothing changed" in out.getvalue()
