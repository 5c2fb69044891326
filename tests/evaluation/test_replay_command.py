"""manage.py replay: a backtest's runs replayed beside another endpoint, with the report."""

import csv
import json
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.evaluation.models import Backtest, BacktestKind, BacktestStatus
from apps.lineage.models import Run
from apps.symbols.models import Symbol
from tests.factories import LlmEndpointFactory, StrategyFactory
from tests.factories import decision_answer as decision
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db

HOLD = decision(action="HOLD", entry=None, stop_loss=None, take_profit=None)


@pytest.fixture
def other_server(settings: Any) -> Iterator[ScriptedLlmServer]:
    """A second loopback endpoint, reachable under the outbound URL policy."""
    server = ScriptedLlmServer()
    server.start()
    settings.LLM_ALLOWED_HOSTS = ["127.0.0.1"]
    yield server
    server.stop()


def test_the_command_replays_a_backtest_beside_another_endpoint(
    goog: Symbol, llm_server: ScriptedLlmServer, other_server: ScriptedLlmServer, tmp_path: Path
) -> None:
    # given an OpenAI-analyst backtest of one week, answered BUY by the default endpoint
    strategy = StrategyFactory.create(
        symbol=goog,
        analyst="openai",
        llm_model="model-a",
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )
    llm_server.answer_with(HOLD)
    window = ("--start", "2012-03-05", "--end", "2012-03-09")
    call_command("backtest", strategy.slug, *window, stdout=StringIO())
    source = Backtest.objects.get()
    assert source.status == BacktestStatus.DONE and len(llm_server.requests) == 5
    endpoint = LlmEndpointFactory.create(name="other", base_url=other_server.base_url)
    other_server.answer_with(HOLD)
    out = StringIO()

    # when its runs are replayed with another endpoint and model
    call_command(
        "replay",
        "--from-backtest",
        str(source.pk),
        "--variant",
        "endpoint=other,model=model-b",
        "--json",
        str(tmp_path / "r.json"),
        "--csv",
        str(tmp_path / "r.csv"),
        stdout=out,
    )

    # then the original made no request and the variant asked the other endpoint each time
    replay = Backtest.objects.get(kind=BacktestKind.REPLAY)
    assert replay.status == BacktestStatus.DONE and replay.source_variant_id is not None
    assert len(llm_server.requests) == 5
    assert [r["model"] for r in other_server.requests] == ["model-b"] * 5
    original, other = list(replay.variants.order_by("position"))
    assert other.clone.llm_endpoint_id == endpoint.pk
    assert other.label == "endpoint=other,model=model-b"
    assert Run.objects.filter(strategy=original.clone, trigger="replay").count() == 5
    assert f"replay {replay.pk}: 2 variant(s) (1: original), 5 source run(s)" in out.getvalue()
    report = json.loads((tmp_path / "r.json").read_text())
    assert [v["llm_calls"] for v in report["variants"]] == [5, 5]
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["label"] for r in rows] == ["original", other.label, "buy and hold"]

    # resuming it runs nothing more
    call_command("replay", "--resume", str(replay.pk), stdout=StringIO())
    assert len(other_server.requests) == 5


def test_an_unknown_endpoint_or_source_is_refused(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    window = ("--start", "2012-03-05", "--end", "2012-03-09")
    with pytest.raises(CommandError, match="endpoint='nope'"):
        call_command("replay", strategy.slug, *window, "--variant", "endpoint=nope")
    with pytest.raises(CommandError, match="backtest 999 has no variant 1"):
        call_command("replay", "--from-backtest", "999")
    with pytest.raises(CommandError, match="llm_cache must be one of"):
        call_command("replay", strategy.slug, *window, "--llm-cache", "recorded")
    assert not Backtest.objects.exists()
