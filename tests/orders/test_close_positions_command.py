"""``manage.py close_positions``: shows the scope, asks unless --yes, closes, reports, and
exits non-zero when the scope is unknown or anything failed."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.orders.brokers import BrokerUnavailableError
from apps.orders.models import Order, OrderRole, PositionAction
from apps.positions.models import StrategyPosition
from tests.factories import AccountFactory, SymbolFactory, UserFactory, make_bars
from tests.orders.helpers import open_long, strategy_on

pytestmark = pytest.mark.django_db
D = Decimal


def run(*args: str) -> str:
    out = StringIO()
    call_command("close_positions", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_yes_closes_the_scope_and_prints_the_report() -> None:
    symbol = SymbolFactory.create(symbol="CLS", timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [100.0] * 12, start=datetime(2020, 1, 1, tzinfo=UTC))
    person = UserFactory.create(username="ops")
    account = AccountFactory.create(owner=person)
    mine, other = strategy_on(account, symbol), strategy_on(account, symbol)
    position = open_long(mine)
    open_long(other)

    output = run(
        "--account", str(account.pk), "--strategy", mine.slug, "--symbol", "cls",
        "--note", "risk off", "--user", "ops", "--yes",
    )  # fmt: skip

    assert f"#{position.pk} {mine.slug} LONG 100 CLS" in output
    assert "Working orders (2):" in output  # the position's stop and target
    assert "done" in output and "SELL 100 MKT (submitted)" in output
    umbrella = PositionAction.objects.get(detail__scope__strategy=mine.pk)
    assert (umbrella.requested_by, umbrella.note, umbrella.status) == (person, "risk off", "done")
    [exit_order] = Order.objects.filter(role=OrderRole.EXIT)
    assert exit_order.strategy_position == position
    assert StrategyPosition.objects.get(strategy=other, status="open").quantity == D(100)


def test_an_unknown_scope_or_a_refusal_closes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [100.0] * 12, start=datetime(2020, 1, 1, tzinfo=UTC))
    account = AccountFactory.create()
    open_long(strategy_on(account, symbol))

    with pytest.raises(CommandError, match="trades no symbol"):
        run("--account", str(account.pk), "--symbol", "NOPE", "--note", "x", "--yes")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="not confirmed"):
        run("--account", str(account.pk), "--note", "x")
    assert not PositionAction.objects.exists()


def test_a_failed_close_makes_the_command_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    symbol = SymbolFactory.create(timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [100.0] * 12, start=datetime(2020, 1, 1, tzinfo=UTC))
    account = AccountFactory.create()
    open_long(strategy_on(account, symbol))

    def down(**_: object) -> None:
        raise BrokerUnavailableError("paper book unreachable")

    monkeypatch.setattr("apps.orders.position_actions.orders_sync", down)
    with pytest.raises(CommandError, match="1 failed"):
        run("--account", str(account.pk), "--note", "x", "--yes")
    assert PositionAction.objects.get(strategy_position__isnull=True).status == "failed"
