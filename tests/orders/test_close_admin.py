"""The admin's close actions: a confirmation page with a note, then a person's close of the
selected strategy positions, or a close-all of the selected accounts, asked by the admin."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from apps.orders.models import Order, OrderRole, PositionAction
from apps.symbols.models import Symbol
from tests.factories import AccountFactory, SymbolFactory, UserFactory, make_bars
from tests.orders.helpers import open_long, strategy_on

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def symbol() -> Symbol:
    symbol = SymbolFactory.create(symbol="ADM", timezone="America/New_York", min_tick=D("0.01"))
    make_bars(symbol, [100.0] * 12, start=datetime(2020, 1, 1, tzinfo=UTC))
    return symbol


def test_close_selected_positions_asks_then_closes_with_the_note(
    client: Client, symbol: Symbol
) -> None:
    admin_user = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    position = open_long(strategy_on(AccountFactory.create(), symbol))
    url = reverse("admin:positions_strategyposition_changelist")
    form = {"action": "close_positions", "_selected_action": [str(position.pk)]}

    page = client.post(url, form)
    assert page.status_code == 200 and b"LONG 100 ADM" in page.content
    assert not PositionAction.objects.exists()  # nothing before the confirmation

    done = client.post(url, {**form, "apply": "Close", "note": "halt"}, follow=True)

    assert done.status_code == 200
    action = PositionAction.objects.get()
    assert (action.requested_by, action.note, action.status) == (admin_user, "halt", "done")
    assert Order.objects.get(role=OrderRole.EXIT).strategy_position == position


def test_close_all_of_the_selected_accounts_notes_the_admin(client: Client, symbol: Symbol) -> None:
    admin_user = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    account = AccountFactory.create()
    open_long(strategy_on(account, symbol))
    url = reverse("admin:trading_account_changelist")

    client.post(
        url,
        {"action": "close_all_positions", "_selected_action": [str(account.pk)], "apply": "1"},
    )

    umbrella = PositionAction.objects.get(strategy_position__isnull=True)
    assert (umbrella.note, umbrella.requested_by, umbrella.status) == (
        "admin: root",
        admin_user,
        "done",
    )
    assert Order.objects.filter(role=OrderRole.EXIT, account=account).count() == 1
