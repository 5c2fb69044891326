"""Live trading is a permission (``strategies.trade_live``): the admin, the strategies file and
the order step refuse a live strategy unless the acting user and the owner hold it.
The REST API's side is in tests/api/test_strategies.py."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import Group, Permission, User
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.lineage.models import Run
from apps.lineage.services import run_create
from apps.orders.models import Order
from apps.pipeline.executor import run_execute, strategy_run
from apps.strategies.live_trading import LiveTradingNotAllowedError, live_trading_check
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory, UserFactory
from tests.strategies.helpers import DEMO_FILE, GOOG_SLUG, change_form_data, strategy_of, write
from tests.strategies.live import grant_live_trading, revoke_live_trading, trade_live_permission

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # the baseline analyst sells GOOG here (accepted)


# --- the rule -------------------------------------------------------------------------------


def test_paper_strategies_need_no_permission() -> None:
    live_trading_check(strategy=StrategyFactory.build(owner=None), actor=None)


def test_the_permission_comes_from_a_user_a_group_or_superuser_status() -> None:
    trader = UserFactory.create()
    strategy = StrategyFactory.create(owner=trader, trading_mode="live")
    with pytest.raises(LiveTradingNotAllowedError, match=r"strategies\.trade_live"):
        live_trading_check(strategy=strategy, actor=trader)
    group = Group.objects.create(name="live traders")
    group.permissions.add(trade_live_permission())
    trader.groups.add(group)
    strategy.owner = User.objects.get(pk=trader.pk)
    live_trading_check(strategy=strategy, actor=strategy.owner)
    admin_user = UserFactory.create(is_superuser=True, is_staff=True)
    live_trading_check(
        strategy=StrategyFactory.create(owner=admin_user, trading_mode="live"), actor=admin_user
    )


def test_a_live_strategy_needs_an_owner_who_holds_it_whoever_acts() -> None:
    operator = UserFactory.create(is_superuser=True, is_staff=True)
    with pytest.raises(LiveTradingNotAllowedError, match="has no owner"):
        live_trading_check(strategy=StrategyFactory.create(trading_mode="live"), actor=operator)
    trader = UserFactory.create(username="novice")
    strategy = StrategyFactory.create(owner=trader, trading_mode="live")
    with pytest.raises(LiveTradingNotAllowedError, match="its owner novice does not hold"):
        live_trading_check(strategy=strategy, actor=operator)


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def desk(client: Client) -> tuple[Client, User]:
    """A staff member who may edit strategies in the admin but not trade live."""
    user = UserFactory.create(username="desk", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="strategies", codename__in=["view_strategy", "change_strategy"]
        )
    )
    client.force_login(user)
    return client, user


def test_admin_refuses_to_make_a_strategy_live_without_the_permission(
    desk: tuple[Client, User],
) -> None:
    client, user = desk
    strategy = StrategyFactory.create(owner=user)
    url = reverse("admin:strategies_strategy_change", args=[strategy.pk])
    # when the staff member without the permission sets it live
    page = client.post(url, change_form_data(client, strategy, trading_mode="live"))
    # then the form is shown again with the reason, and the strategy is still paper
    assert page.status_code == 200
    assert "strategies.trade_live" in str(page.context["adminform"].form.errors["trading_mode"])
    strategy.refresh_from_db()
    assert strategy.trading_mode == "paper"
    # and once granted, the same change is saved
    grant_live_trading(user)
    page = client.post(url, change_form_data(client, strategy, trading_mode="live"))
    assert page.status_code == 302
    strategy.refresh_from_db()
    assert strategy.trading_mode == "live"


def test_admin_actions_refuse_a_live_strategy_without_the_permission(
    desk: tuple[Client, User], django_capture_on_commit_callbacks: Any
) -> None:
    client, user = desk
    owner = grant_live_trading(UserFactory.create())
    strategy = StrategyFactory.create(owner=owner, trading_mode="live", is_active=False)
    url = reverse("admin:strategies_strategy_changelist")
    for action in ("run_now", "activate"):
        with django_capture_on_commit_callbacks(execute=False) as enqueued:
            page = client.post(url, {"action": action, "_selected_action": [strategy.pk]})
        assert page.status_code == 302 and enqueued == []
        texts = [str(m) for m in get_messages(page.wsgi_request)]
        assert any("strategies.trade_live" in text for text in texts), texts
    strategy.refresh_from_db()
    assert not strategy.is_active and not Run.objects.filter(strategy=strategy).exists()
    # with the permission the same actions work
    grant_live_trading(user)
    client.post(url, {"action": "activate", "_selected_action": [strategy.pk]})
    strategy.refresh_from_db()
    assert strategy.is_active


# --- strategies file ------------------------------------------------------------------------


def _live_demo(tmp_path: Path) -> Path:
    document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    strategy_of(document, GOOG_SLUG)["mode"] = "live"
    return write(tmp_path, document)


def test_apply_strategies_refuses_a_live_strategy_without_an_owner_holding_it(
    tmp_path: Path,
) -> None:
    path = _live_demo(tmp_path)
    with pytest.raises(CommandError, match=f"strategy {GOOG_SLUG} is live but has no owner"):
        call_command("apply_strategies", str(path))
    UserFactory.create(username="novice")
    with pytest.raises(CommandError, match="owner novice does not hold"):
        call_command("apply_strategies", str(path), "--owner", "novice")
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("apply_strategies", str(path), "--owner", "nobody")
    assert not Strategy.objects.exists()  # all or nothing


def test_apply_strategies_with_an_owner_holding_it_saves_the_live_strategy(
    tmp_path: Path,
) -> None:
    trader = grant_live_trading(UserFactory.create(username="pro"))
    call_command("apply_strategies", str(_live_demo(tmp_path)), "--owner", "pro")
    strategy = Strategy.objects.get(slug=GOOG_SLUG)
    assert (strategy.trading_mode, strategy.owner) == ("live", trader)
    assert set(Strategy.objects.values_list("owner", flat=True)) == {trader.pk}


# --- the order step -------------------------------------------------------------------------


def _assert_refused_before_any_order(run: Run, owner: str) -> None:
    assert run.status == "failed"
    step = run.steps.get(name="order")
    assert (step.status, step.error_type) == ("failed", "LiveTradingNotAllowedError")
    assert f"its owner {owner} does not hold the strategies.trade_live" in step.error_message
    assert "LiveTradingNotAllowedError" in run.error_message
    assert not Order.objects.exists()


def test_a_live_run_whose_owner_lacks_the_permission_sends_no_order(goog: Symbol) -> None:
    owner = UserFactory.create(username="novice")
    strategy = StrategyFactory.create(symbol=goog, owner=owner, trading_mode="live")
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    _assert_refused_before_any_order(run, "novice")


def test_a_queued_live_run_whose_owner_lost_the_permission_sends_no_order(goog: Symbol) -> None:
    # given a live strategy queued while its owner held the permission
    owner = grant_live_trading(UserFactory.create(username="former"))
    strategy = StrategyFactory.create(symbol=goog, owner=owner, trading_mode="live")
    run = run_create(strategy_id=strategy.pk, trigger="schedule", as_of=AS_OF, scheduled_for=AS_OF)
    # when the operator revokes it before a worker takes the run
    revoke_live_trading(owner)
    run = run_execute(run=run)
    # then the order step refuses and says why
    _assert_refused_before_any_order(run, "former")


def test_a_live_run_whose_owner_holds_the_permission_reaches_the_broker(goog: Symbol) -> None:
    owner = grant_live_trading(UserFactory.create())
    strategy = StrategyFactory.create(symbol=goog, owner=owner, trading_mode="live")
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # the test settings have no live broker: past the permission, the broker choice refuses
    step = run.steps.get(name="order")
    assert step.error_type == "BrokerUnavailableError", step.error_message
