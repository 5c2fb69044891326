"""``/metrics``: who may scrape it (token, networks, loopback), and what it holds across
processes (prometheus_client multiprocess files merged by the web process)."""

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.factories import (
    BarFactory,
    StrategyFactory,
    StrategyPositionFactory,
    SymbolFactory,
    UserFactory,
)
from tests.factories import decision_answer as decision
from tests.pipeline.test_position_actions import run_answering

pytestmark = pytest.mark.django_db


def scrape(client: Client, address: str, **headers: Any) -> tuple[int, str]:
    response = client.get("/metrics", REMOTE_ADDR=address, **headers)
    return response.status_code, response.content.decode()


@pytest.fixture
def web() -> Client:
    return Client(HTTP_HOST="localhost")


def test_neither_setting_lets_only_loopback_scrape(web: Client, settings: object) -> None:
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []  # type: ignore[attr-defined]
    status, body = scrape(web, "127.0.0.1")
    assert status == 200 and "sibyl_trading_state_global 0.0" in body
    assert scrape(web, "::1")[0] == 200
    assert scrape(web, "::ffff:127.0.0.1")[0] == 200  # a dual-stack socket's loopback
    status, body = scrape(web, "10.1.2.3")
    assert status == 403 and "only loopback" in body
    assert "sibyl_" not in body


def test_token_is_required_from_everywhere_when_set(web: Client, settings: object) -> None:
    settings.METRICS_TOKEN = "s3cret-scrape-token"  # type: ignore[attr-defined]
    settings.METRICS_ALLOWED_NETWORKS = []  # type: ignore[attr-defined]
    for address in ("127.0.0.1", "203.0.113.9"):
        response = web.get("/metrics", REMOTE_ADDR=address)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert scrape(web, address, HTTP_AUTHORIZATION="Bearer wrong")[0] == 401
        assert scrape(web, address, HTTP_AUTHORIZATION="Basic s3cret-scrape-token")[0] == 401
        status, body = scrape(web, address, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
        assert status == 200 and "sibyl_queue_depth" in body


def test_allowed_networks_gate_by_client_address(web: Client, settings: object) -> None:
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "192.0.2.7"]  # type: ignore[attr-defined]
    assert scrape(web, "10.9.8.7")[0] == 200
    assert scrape(web, "192.0.2.7")[0] == 200
    status, body = scrape(web, "127.0.0.1")  # the list replaces the loopback default
    assert status == 403 and "METRICS_ALLOWED_NETWORKS" in body
    assert scrape(web, "192.0.2.8")[0] == 403


def test_networks_and_token_both_hold_when_both_set(web: Client, settings: object) -> None:
    settings.METRICS_TOKEN = "tok"  # type: ignore[attr-defined]
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]  # type: ignore[attr-defined]
    # outside the networks: 403 whatever the token, so the token is not probed from there
    assert scrape(web, "203.0.113.1", HTTP_AUTHORIZATION="Bearer tok")[0] == 403
    assert scrape(web, "10.0.0.5")[0] == 401
    assert scrape(web, "10.0.0.5", HTTP_AUTHORIZATION="Bearer tok")[0] == 200


def test_only_get(web: Client) -> None:
    assert web.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


WRITER = """
import sys
from apps.common import metrics
for _ in range(int(sys.argv[1])):
    metrics.run_finished(status="succeeded", trigger="schedule")
metrics.step_finished(step="llm", status="succeeded", duration_s=0.2)
"""


def test_processes_metrics_are_summed_from_their_directories(
    web: Client, settings: object, tmp_path: Path
) -> None:
    # given two process groups (say the runs worker and the control worker) that each wrote
    # their counters to a multiprocess directory of their own under the root
    for name, count in (("runs", 2), ("control", 3)):
        directory = tmp_path / name
        directory.mkdir()
        subprocess.run(
            [sys.executable, "-c", WRITER, str(count)],
            check=True,
            env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
            cwd=settings.BASE_DIR,  # type: ignore[attr-defined]
        )
    settings.METRICS_MULTIPROC_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    # when the web process is scraped
    status, body = scrape(web, "127.0.0.1")
    # then the counters are the sum over both processes, beside the database gauges
    assert status == 200
    assert 'sibyl_runs_total{status="succeeded",trigger="schedule"} 5.0' in body
    assert 'sibyl_step_duration_seconds_count{status="succeeded",step="llm"} 2.0' in body
    assert "sibyl_trading_state_global 0.0" in body


def test_every_series_on_the_dashboard_is_exported(web: Client, settings: object) -> None:
    # given the process has served a request and run a query (django-prometheus' series)
    web.get("/metrics", REMOTE_ADDR="127.0.0.1")
    status, body = scrape(web, "127.0.0.1")
    assert status == 200
    exported = {
        line.split()[2] for line in body.splitlines() if line.startswith(("# HELP", "# TYPE"))
    }
    # when the Grafana dashboard's queries are read
    dashboard = json.loads(
        (Path(settings.BASE_DIR) / "deploy/grafana/dashboards/sibyl.json").read_text()  # type: ignore[attr-defined]
    )
    names = {
        re.sub(r"_(bucket|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:sibyl|django)_[a-z_]+", target["expr"])
    }
    # then each series it names is one /metrics exports (a renamed metric breaks this)
    assert len(names) >= 15
    assert names <= exported, names - exported
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"sibyl-prometheus"}


def test_the_web_process_own_directory_under_the_root_counts_once(
    web: Client, settings: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the web process's own directory, named relatively, also lies under the root
    directory = tmp_path / "web"
    directory.mkdir()
    subprocess.run(
        [sys.executable, "-c", WRITER, "4"],
        check=True,
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        cwd=settings.BASE_DIR,  # type: ignore[attr-defined]
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "web")
    settings.METRICS_MULTIPROC_ROOT = str(tmp_path)  # type: ignore[attr-defined]
    # then its files are read once
    status, body = scrape(web, "127.0.0.1")
    assert status == 200
    assert 'sibyl_runs_total{status="succeeded",trigger="schedule"} 4.0' in body


def test_position_gauges_cover_configured_strategies_only(web: Client) -> None:
    # given a strategy long 10 at 100 and short 4 at 700 in a symbol whose last daily close is
    # 650, with 30 realized on a closed position, and a backtest's copy holding a position too
    symbol = SymbolFactory.create(symbol="MTRC", currency="USD")
    BarFactory.create(symbol=symbol, bar_size="1 day", ts=datetime(2024, 1, 2, tzinfo=UTC),
                      close=Decimal("600"))  # fmt: skip
    BarFactory.create(symbol=symbol, bar_size="1 day", ts=datetime(2024, 1, 3, tzinfo=UTC),
                      close=Decimal("650"))  # fmt: skip
    strategy = StrategyFactory.create(symbol=symbol, slug="gauged")
    StrategyPositionFactory.create(strategy=strategy)
    StrategyPositionFactory.create(strategy=strategy, side="SHORT", quantity=Decimal("4"),
                                   average_cost=Decimal("700"))  # fmt: skip
    StrategyPositionFactory.create(strategy=strategy, side="SHORT", status="closed",
                                   quantity=0, realized_pnl=Decimal("30"),
                                   closed_at=datetime(2024, 1, 3, tzinfo=UTC))  # fmt: skip
    copy = StrategyFactory.create(symbol=symbol, slug="gauged-copy", backtest_of=strategy)
    StrategyPositionFactory.create(strategy=copy)
    # when scraped
    _, body = scrape(web, "127.0.0.1")
    # then open positions, realized and unrealized P&L are the strategy's:
    # 10 × (650 − 100) − 4 × (650 − 700) = 5500 + 200
    account = f'account_id="{strategy.account_id}"'  # the exposition sorts labels by name
    assert f'sibyl_positions_open{{{account},strategy="gauged"}} 2.0' in body
    assert f'sibyl_realized_pnl{{{account},currency="USD",strategy="gauged"}} 30.0' in body
    assert f'sibyl_unrealized_pnl{{{account},currency="USD",strategy="gauged"}} 5700.0' in body
    assert "gauged-copy" not in body


def test_brackets_awaiting_approval_are_counted_per_strategy(
    web: Client, goog: Any, llm_server: Any
) -> None:
    strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", owner=UserFactory.create(), approval="required"
    )
    assert "sibyl_approvals_waiting{" not in scrape(web, "127.0.0.1")[1]

    run = run_answering(strategy, llm_server, decision())

    assert run.status == "succeeded", run.error_message
    status, body = scrape(web, "127.0.0.1")
    assert status == 200
    assert f'sibyl_approvals_waiting{{strategy="{strategy.slug}"}} 1.0' in body
