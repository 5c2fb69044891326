"""seed_demo: the demo strategies and bars, the demo's runs, and the local server's user."""

import socket
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.analysis.models import PromptTemplate
from apps.lineage.models import Run
from apps.strategies.models import Strategy
from tests.factories import RunFactory, StrategyFactory
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_owner_is_a_staff_user_with_the_demo_password_who_owns_the_demo_strategies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIBYL_DEMO_PASSWORD", "s3cret-demo")
    seed("--owner", "demo")
    user = User.objects.get(username="demo")
    assert user.is_staff and user.check_password("s3cret-demo")
    assert set(Strategy.objects.values_list("owner__username", flat=True)) == {"demo"}
    assert Strategy.objects.count() == 4
    # their template goes with them: a strategy uses its owner's templates
    assert set(PromptTemplate.objects.values_list("name", "owner__username")) == {
        ("swing-default", "demo")
    }
    for strategy in Strategy.objects.all():
        strategy.full_clean()


def test_without_a_demo_password_a_random_one_is_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIBYL_DEMO_PASSWORD", raising=False)
    output = seed("--owner", "demo")
    password = output.split("sign in with password: ")[1].split()[0]
    assert len(password) >= 16 and password != "demo"
    assert User.objects.get(username="demo").check_password(password)


def test_an_existing_user_keeps_their_password(monkeypatch: pytest.MonkeyPatch) -> None:
    User.objects.create_user(username="demo", password="their-own")
    seed("--owner", "demo")
    assert User.objects.get(username="demo").check_password("their-own")


def test_if_empty_leaves_a_database_with_strategies_alone() -> None:
    StrategyFactory.create()
    assert "left as it is" in seed("--if-empty", "--runs")
    assert Strategy.objects.count() == 1 and not Run.objects.exists()


def test_if_empty_leaves_a_database_with_runs_alone() -> None:
    strategy = StrategyFactory.create()
    RunFactory.create(strategy=strategy, trigger="manual", as_of="2012-06-01T00:00:00Z")
    assert "left as it is" in seed("--if-empty", "--runs")
    assert Strategy.objects.count() == 1 and Run.objects.count() == 1


@pytest.mark.slow
def test_runs_are_the_seven_demo_runs_and_all_succeed() -> None:
    output = seed("--runs")
    runs = Run.objects.order_by("id")
    assert [r.status for r in runs] == ["succeeded"] * 7
    assert [r.strategy.slug for r in runs] == [
        "goog-daily-swing",
        "goog-daily-swing",
        "goog-daily-strict",
        "eurusd-hourly-momentum",
        "eurusd-hourly-momentum",
        "goog-daily-swing",
        "goog-daily-trend",
    ]
    assert output.count(": succeeded") == 7
    # two strategies hold GOOG on one paper account, each its own position; the account the sum
    assert "GOOG goog-daily-swing: open LONG 36 at average cost" in output
    assert "GOOG goog-daily-trend: open LONG 37 at average cost 781.787" in output
    assert "GOOG account net (sum of its strategies): 73" in output


def test_allowing_failed_runs_does_not_hide_a_model_that_was_never_reached(
    settings: Any,
) -> None:
    """`make demo LLM=local` with a dead model server must fail, not exit 0."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.LLM_BASE_URL = f"http://127.0.0.1:{closed_port}/v1"
    settings.LLM_MAX_ATTEMPTS = 1
    with pytest.raises(CommandError, match=r"the model was never reached"):
        seed("--runs", "--allow-failed-runs")
    assert Run.objects.filter(status="failed").count() == 7


def test_allowing_failed_runs_excuses_runs_the_model_answered_badly(
    settings: Any, llm_server: ScriptedLlmServer
) -> None:
    llm_server.answer_with("this is not JSON at all")
    settings.LLM_MAX_ATTEMPTS = 1
    output = seed("--runs", "--allow-failed-runs")
    assert Run.objects.filter(status="failed").count() == 7
    assert output.count(": failed") == 7
