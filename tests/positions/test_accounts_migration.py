"""The migration to trading accounts: each owner's strategies and orders move to that owner's
default paper account, and strategy positions are rebuilt from the stored fills."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.orders.models import Fill, Order
from apps.positions.models import StrategyPosition
from apps.strategies.models import Strategy
from apps.trading.models import Account

D = Decimal
OLD_NODES = [
    ("strategies", "0007_remove_strategy_llm_base_url_api_key_env"),
    ("orders", "0004_order_fill_check_constraints"),
]
# Unapplying trading and positions entirely (None: before their first migration).
BEFORE: list[tuple[str, str | None]] = [*OLD_NODES, ("positions", None), ("trading", None)]
AT = datetime(2020, 1, 10, tzinfo=UTC)


def _bracket(
    old: Any, strategy: Any, *, side: str, quantity: str, stop: str, exits: list[tuple[str, str]]
) -> None:
    """A run, its signal and a filled entry of ``quantity`` at 100; ``exits`` are (role,
    price) of filled children (the others stay working)."""
    run = old.get_model("lineage", "Run").objects.create(
        strategy=strategy, trigger="manual", as_of=AT
    )
    signal = old.get_model("signals", "Signal").objects.create(
        strategy=strategy,
        run=run,
        action="BUY" if side == "BUY" else "SELL",
        confidence=D("0.8"),
        entry=D(100),
        stop_loss=D(stop),
        take_profit=D(110) if side == "BUY" else D(90),
        status="accepted",
    )
    Order = old.get_model("orders", "Order")
    Fill = old.get_model("orders", "Fill")
    common = {"run": run, "signal": signal, "symbol_id": strategy.symbol_id, "broker": "paper"}
    entry = Order.objects.create(
        **common,
        role="entry",
        side=side,
        order_type="MKT",
        quantity=D(quantity),
        time_in_force="GTC",
        client_order_ref=f"sibyl-{run.pk}-entry",
        status="filled",
        filled_quantity=D(quantity),
    )
    Fill.objects.create(
        order=entry,
        execution_id=f"x-{run.pk}-e",
        executed_at=AT,
        quantity=D(quantity),
        price=D(100),
    )
    exit_side = "SELL" if side == "BUY" else "BUY"
    for role, kind in (("take_profit", "LMT"), ("stop_loss", "STP")):
        price = dict(exits).get(role)
        child = Order.objects.create(
            **common,
            role=role,
            side=exit_side,
            order_type=kind,
            limit_price=D(110) if kind == "LMT" else None,
            stop_price=D(stop) if kind == "STP" else None,
            quantity=D(quantity),
            time_in_force="GTC",
            parent=entry,
            oca_group=f"sibyl-{run.pk}-oca",
            client_order_ref=f"sibyl-{run.pk}-{role}",
            status="filled" if price else "submitted",
            filled_quantity=D(quantity) if price else D(0),
        )
        if price:
            Fill.objects.create(
                order=child,
                execution_id=f"x-{run.pk}-{role}",
                executed_at=datetime(2020, 1, 11, tzinfo=UTC),
                quantity=D(quantity),
                price=D(price),
                commission=D(1),
            )


@pytest.mark.django_db(transaction=True)
def test_owners_get_paper_accounts_and_positions_are_rebuilt_from_fills() -> None:
    # given two owners' and an ownerless strategy with filled orders, before accounts existed
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)  # type: ignore[arg-type]  # Django accepts None: unapply all
    # The other apps as migrated now: a later migration of theirs that depends on a later
    # strategies or orders migration was unapplied with it, so their graph leaf is not it.
    executor.loader.build_graph()
    applied = set(executor.loader.applied_migrations)
    graph = executor.loader.graph
    untouched = [
        node
        for node in applied
        if node[0] not in ("strategies", "orders", "positions", "trading", "evaluation")
        and not any(
            child.key in applied and child.key[0] == node[0]
            for child in graph.node_map[node].children
        )
    ]
    old = executor.loader.project_state([*untouched, *OLD_NODES]).apps
    users = old.get_model("auth", "User")
    alice, bob = (users.objects.create(username=name) for name in ("alice", "bob"))
    symbols = old.get_model("symbols", "Symbol")
    usd = symbols.objects.create(symbol="MIGA", currency="USD")
    eur = symbols.objects.create(symbol="MIGE", sec_type="STK", currency="EUR")
    template = old.get_model("analysis", "PromptTemplate").objects.create(
        name="t", version=1, body="x"
    )
    strategies = old.get_model("strategies", "Strategy")
    common = {"prompt_template": template, "bar_size": "1 day"}
    a1 = strategies.objects.create(slug="a1", name="a1", owner=alice, symbol=usd, **common)
    a2 = strategies.objects.create(slug="a2", name="a2", owner=alice, symbol=usd, **common)
    b1 = strategies.objects.create(slug="b1", name="b1", owner=bob, symbol=eur, **common)
    strategies.objects.create(slug="op", name="op", owner=None, symbol=usd, **common)
    # a1: long 100 at 100 stopped out at 95 (commission 1); a2: short 50 at 100, still open;
    # b1: long 10 at 100 taken at 110 (commission 1)
    _bracket(old, a1, side="BUY", quantity="100", stop="95", exits=[("stop_loss", "95")])
    _bracket(old, a2, side="SELL", quantity="50", stop="105", exits=[])
    _bracket(old, b1, side="BUY", quantity="10", stop="95", exits=[("take_profit", "110")])

    # when every migration runs
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    # then each owner has a default paper account with cash in its symbols' currencies
    accounts = {a.owner.username if a.owner else None: a for a in Account.objects.all()}
    assert set(accounts) == {"alice", "bob", None}
    assert all(a.broker == "paper" and a.is_default for a in accounts.values())
    assert sorted(accounts["bob"].cash.values_list("currency", flat=True)) == ["EUR", "USD"]
    assert dict(Strategy.objects.values_list("slug", "account__owner__username")) == {
        "a1": "alice",
        "a2": "alice",
        "b1": "bob",
        "op": None,
    }
    assert all(o.account_id == o.strategy.account_id for o in Order.objects.all())
    # and positions are per strategy: a1's closed at a loss, a2's short open, b1's won
    a1_position = StrategyPosition.objects.get(strategy__slug="a1")
    assert (a1_position.status, a1_position.side, a1_position.quantity) == ("closed", "LONG", 0)
    # (95 − 100) × 100 − 1 = −501; risk 100 × 5 = 500 → R −1.002
    assert (a1_position.realized_pnl, a1_position.r_multiple) == (D("-501"), D("-1.002"))
    assert a1_position.outcome == "loss"
    a2_position = StrategyPosition.objects.get(strategy__slug="a2")
    assert (a2_position.status, a2_position.side, a2_position.quantity) == ("open", "SHORT", 50)
    b1_position = StrategyPosition.objects.get(strategy__slug="b1")
    assert (b1_position.realized_pnl, b1_position.outcome) == (D("99"), "win")
    # every fill belongs to its strategy's position through its order
    for fill in Fill.objects.select_related("order__strategy_position", "order__run"):
        position = fill.order.strategy_position
        assert position is not None and position.strategy_id == fill.order.strategy_id
    assert Fill.objects.get(execution_id__endswith="stop_loss").realized_pnl == D("-501")
