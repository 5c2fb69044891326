"""Changes that would re-book what is open: an account's position mode, and a strategy's
account, are refused while a strategy position is open or an order is unfinished — through
the API, the admin (model clean) and the strategies file — with a message naming what is
open."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.orders.models import OrderStatus
from apps.strategies.models import Strategy
from apps.strategies.services import StrategiesFileError, strategies_apply
from apps.trading.models import Account
from tests.api.conftest import token_client
from tests.factories import AccountFactory, StrategyFactory, StrategyPositionFactory, UserFactory
from tests.orders.helpers import make_bracket
from tests.strategies.helpers import DEMO_FILE, GOOG_SLUG, strategy_of, write

pytestmark = pytest.mark.django_db
ACCOUNTS = "/api/v1/accounts/"
STRATEGIES = "/api/v1/strategies/"


@pytest.fixture
def trader() -> User:
    return UserFactory.create(username="mover")


@pytest.fixture
def api(trader: User) -> APIClient:
    return token_client(trader)


def test_position_mode_changes_only_while_nothing_is_open_on_the_account(
    api: APIClient, trader: User
) -> None:
    # given an account of the trader whose strategy holds an open LONG 10
    account = AccountFactory.create(owner=trader)
    position = StrategyPositionFactory.create(
        strategy=StrategyFactory.create(owner=trader, account=account, name="Swing")
    )
    url = f"{ACCOUNTS}{account.pk}/"

    # when the mode is changed through the API, then 400 naming the position, mode unchanged
    refused = api.patch(url, {"position_mode": "hedge"})
    assert refused.status_code == 400, refused.content
    message = refused.json()["position_mode"][0]
    assert "cannot change from netting to hedge" in message
    assert f"Swing LONG 10 {position.symbol.symbol} (position {position.pk})" in message
    assert Account.objects.get(pk=account.pk).position_mode == "netting"
    # other fields, and the unchanged mode, still go through
    assert api.patch(url, {"name": "Renamed", "position_mode": "netting"}).status_code == 200

    # and the model's clean (the admin's form) refuses the same
    account.refresh_from_db()
    account.position_mode = "hedge"
    with pytest.raises(ValidationError) as caught:
        account.full_clean()
    assert "Swing LONG 10" in caught.value.message_dict["position_mode"][0]

    # given the position closed but an order of another strategy still pending (unfinished)
    position.status, position.quantity = "closed", 0
    position.closed_at = position.opened_at
    position.save()
    orders = make_bracket(StrategyFactory.create(owner=trader, account=account, name="Other"))
    pending = api.patch(url, {"position_mode": "hedge"})
    assert pending.status_code == 400
    assert f"Other order {orders[0].pk} BUY 10" in pending.json()["position_mode"][0]

    # when every order has finished, the mode changes
    for order in orders:
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status"])
    changed = api.patch(url, {"position_mode": "hedge"})
    assert changed.status_code == 200 and changed.json()["position_mode"] == "hedge"


def test_the_admin_refuses_a_mode_change_with_an_open_position(client: Client) -> None:
    staff = UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    account = AccountFactory.create(name="Desk")
    StrategyPositionFactory.create(strategy=StrategyFactory.create(account=account, name="Swing"))
    url = reverse("admin:trading_account_change", args=[account.pk])
    form = {
        "name": "Desk",
        "broker": "paper",
        "broker_account_id": "",
        "base_currency": "USD",
        "position_mode": "hedge",
        "opposite_policy": "reject",
        "same_direction_policy": "accumulate",
        "max_position_per_symbol": "",
        "cash-TOTAL_FORMS": "0",
        "cash-INITIAL_FORMS": "0",
        "symbols-TOTAL_FORMS": "0",
        "symbols-INITIAL_FORMS": "0",
    }
    response = client.post(url, form)
    assert response.status_code == 200  # the form again, with the error
    assert "cannot change from netting to hedge" in response.content.decode()
    assert Account.objects.get(pk=account.pk).position_mode == "netting"


def test_a_strategy_moves_to_another_account_only_with_nothing_open_on_the_old_one(
    api: APIClient, trader: User
) -> None:
    # given a strategy on the trader's first account holding an open LONG, and a second account
    first = AccountFactory.create(owner=trader, name="First")
    second = AccountFactory.create(owner=trader, name="Second")
    strategy = StrategyFactory.create(owner=trader, account=first, name="Swing")
    position = StrategyPositionFactory.create(strategy=strategy)
    url = f"{STRATEGIES}{strategy.pk}/"

    # when it is moved through the API, then 400 naming the open position, nothing moved
    refused = api.patch(url, {"account": second.pk}, format="json")
    assert refused.status_code == 400, refused.content
    message = refused.json()["account"][0]
    assert "Swing cannot move to another account" in message
    assert f"(position {position.pk})" in message
    assert Strategy.objects.get(pk=strategy.pk).account_id == first.pk

    # given the position closed but a working (submitted) entry order on the old account
    position.status, position.quantity, position.closed_at = "closed", 0, position.opened_at
    position.save()
    orders = make_bracket(strategy)
    orders[0].status = OrderStatus.SUBMITTED
    orders[0].save(update_fields=["status"])
    for order in orders[1:]:
        order.status = OrderStatus.CANCELLED
        order.save(update_fields=["status"])
    working = api.patch(url, {"account": second.pk}, format="json")
    assert working.status_code == 400
    assert f"Swing order {orders[0].pk} BUY 10" in working.json()["account"][0]
    assert "submitted" in working.json()["account"][0]

    # when the order has finished, it moves
    orders[0].status = OrderStatus.CANCELLED
    orders[0].save(update_fields=["status"])
    moved = api.patch(url, {"account": second.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["account"] == second.pk


def test_the_strategies_file_refuses_moving_a_strategy_with_an_open_position(
    tmp_path: Path, trader: User
) -> None:
    # given the demo file applied for the trader, and its GOOG strategy holding a position
    document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    strategies_apply(path=write(tmp_path, document), owner=trader)
    strategy = Strategy.objects.get(slug=GOOG_SLUG)
    position = StrategyPositionFactory.create(strategy=strategy)
    AccountFactory.create(owner=trader, name="Swing book")

    # when the file names another account for it, then the apply is refused naming the position
    strategy_of(document, GOOG_SLUG)["account"] = "Swing book"
    with pytest.raises(StrategiesFileError) as caught:
        strategies_apply(path=write(tmp_path, document), owner=trader)
    assert f"strategy {GOOG_SLUG}: account:" in str(caught.value)
    assert f"(position {position.pk})" in str(caught.value)
    assert Strategy.objects.get(pk=strategy.pk).account_id == strategy.account_id
