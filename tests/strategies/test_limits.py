"""Per-user limits (``apps.strategies.limits``): the shortest schedule interval of a cron
expression, and the admin and the strategies file refusing an active strategy over its owner's
limits. The REST API's side is in tests/api/test_strategy_limits.py."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from apps.strategies.limits import (
    StrategyLimitError,
    schedule_min_interval_s,
    strategy_limits_check,
)
from apps.strategies.models import Strategy
from tests.factories import StrategyFactory, UserFactory
from tests.strategies.helpers import DEMO_FILE, GOOG_SLUG, change_form_data, strategy_of, write

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.STRATEGIES_MAX_ACTIVE_PER_USER = 2
    settings.SCHEDULE_MIN_INTERVAL_S = 300


# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "shortest"),
    [
        ("* * * * *", 60),
        ("*/5 * * * *", 300),
        ("0,1 9 * * *", 60),
        ("0 9-17 * * mon-fri", 3600),
        ("0 22 * * 1-5", 86400),
        ("@hourly", 3600),
        ("* * * * * */10", 10),  # croniter's sixth field is seconds
        ("59 23 31 12 *", 365 * 86400),
        ("0,59 0,23 1,31 1,12 *", 60),  # 23:59 on 31 December to 00:00 on 1 January
    ],
)
def test_the_shortest_interval_of_a_schedule(cron: str, shortest: int) -> None:
    assert schedule_min_interval_s(cron) == shortest


def test_a_schedule_firing_once_has_no_interval() -> None:
    assert schedule_min_interval_s("0 0 1 1 * 0 2030") is None


def test_limits_bind_the_owner_not_the_actor() -> None:
    trader = UserFactory.create(username="trader")
    fast = StrategyFactory.build(owner=trader, schedule_cron="* * * * *")
    with pytest.raises(StrategyLimitError, match="SCHEDULE_MIN_INTERVAL_S allows at least 300 s"):
        strategy_limits_check(strategy=fast)
    # inactive (a draft), ownerless, or owned by staff: not bound
    for exempt in (
        StrategyFactory.build(owner=trader, schedule_cron="* * * * *", is_active=False),
        StrategyFactory.build(owner=None, schedule_cron="* * * * *"),
        StrategyFactory.build(owner=UserFactory.create(is_staff=True), schedule_cron="* * * * *"),
    ):
        strategy_limits_check(strategy=exempt)


# --- admin ----------------------------------------------------------------------------------


@pytest.fixture
def desk(client: Client) -> tuple[Client, User]:
    """A staff member who may edit strategies in the admin."""
    user = UserFactory.create(username="desk", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="strategies", codename__in=["view_strategy", "change_strategy"]
        )
    )
    client.force_login(user)
    return client, user


def test_admin_refuses_a_traders_strategy_over_the_limits(desk: tuple[Client, User]) -> None:
    client, _ = desk
    trader = UserFactory.create(username="trader")
    strategy = StrategyFactory.create(owner=trader)
    url = reverse("admin:strategies_strategy_change", args=[strategy.pk])
    # a schedule every minute: the form names the limit on the cron field
    page = client.post(url, change_form_data(client, strategy, schedule_cron="* * * * *"))
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert "SCHEDULE_MIN_INTERVAL_S" in str(errors["schedule_cron"])
    # a third active strategy of the trader: refused on the active flag
    StrategyFactory.create_batch(2, owner=trader)
    inactive = StrategyFactory.create(owner=trader, is_active=False)
    change = reverse("admin:strategies_strategy_change", args=[inactive.pk])
    page = client.post(change, change_form_data(client, inactive, is_active="on"))
    assert page.status_code == 200
    assert "STRATEGIES_MAX_ACTIVE_PER_USER" in str(page.context["adminform"].form.errors)
    inactive.refresh_from_db()
    strategy.refresh_from_db()
    assert not inactive.is_active and strategy.schedule_cron == "0 22 * * 1-5"


def test_admin_activate_action_refuses_a_strategy_over_the_limits(
    desk: tuple[Client, User],
) -> None:
    client, _ = desk
    trader = UserFactory.create(username="trader")
    fast = StrategyFactory.create(owner=trader, schedule_cron="* * * * *", is_active=False)
    page = client.post(
        reverse("admin:strategies_strategy_changelist"),
        {"action": "activate", "_selected_action": [fast.pk]},
    )
    texts = [str(m) for m in get_messages(page.wsgi_request)]
    assert any("not activated" in t and "SCHEDULE_MIN_INTERVAL_S" in t for t in texts), texts
    fast.refresh_from_db()
    assert not fast.is_active


# --- strategies file ------------------------------------------------------------------------


def test_apply_strategies_keeps_the_owners_limits(tmp_path: Path) -> None:
    document = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    # three active (the fourth, goog-daily-trend, is inactive: run by the demo only)
    assert [s.get("active", True) for s in document["strategies"]].count(True) == 3
    UserFactory.create(username="trader")
    path = write(tmp_path, document)
    # three active strategies for one trader allowed two: nothing saved
    with pytest.raises(CommandError, match="STRATEGIES_MAX_ACTIVE_PER_USER allows 2"):
        call_command("apply_strategies", str(path), "--owner", "trader")
    assert not Strategy.objects.exists()
    # one of them every minute: refused as well
    for entry in document["strategies"][1:]:
        entry["active"] = False
    strategy_of(document, GOOG_SLUG)["schedule"]["cron"] = "* * * * *"
    path = write(tmp_path, document)
    with pytest.raises(CommandError, match=f"strategy {GOOG_SLUG}: schedule"):
        call_command("apply_strategies", str(path), "--owner", "trader")
    # the operator's own file (no owner) is exempt
    call_command("apply_strategies", str(path))
    assert Strategy.objects.get(slug=GOOG_SLUG).schedule_cron == "* * * * *"
