"""A real Prometheus (Debian's ``prometheus`` package, which ``make test`` installs) scrapes
the live server's ``/metrics`` with the bearer token after a few pipeline runs, and its query
API answers with the expected series."""

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from apps.trading.trading_state import trading_state_set
from tests.factories import StrategyFactory
from tests.factories import decision_answer as decision

AS_OF = datetime(2012, 6, 1, tzinfo=UTC)
TOKEN = "prometheus-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prometheus:
    """A Prometheus server on loopback scraping one target every second."""

    def __init__(self, tmp: Path, target: str) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            pytest.fail(
                "the `prometheus` binary is missing: install Debian's package "
                "(`apt-get install prometheus`; `make test` does it)"
            )
        self.port = _free_port()
        config = tmp / "prometheus.yml"
        (tmp / "token").write_text(TOKEN)
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: sibyl\n    metrics_path: /metrics\n"
            f"    authorization:\n      credentials_file: {tmp / 'token'}\n"
            f"    static_configs:\n      - targets: ['{target}']\n"
        )
        self.log = (tmp / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = tmp / "prometheus.log"
        self._wait_ready()

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as answer:
            return answer.read()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            try:
                self._get("/-/ready")
                return
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"prometheus not ready in 30 s: {self.log_path.read_text()[-2000:]}")

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of ``expr`` (``/api/v1/query``): [{metric, value}]."""
        body = json.loads(self._get("/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def value_when(self, expr: str, expected: float, timeout_s: float = 30) -> float:
        """Poll ``expr`` (one series) until it equals ``expected``; returns the last value."""
        deadline, value = time.monotonic() + timeout_s, float("nan")
        while time.monotonic() < deadline:
            result = self.query(expr)
            if len(result) == 1:
                value = float(result[0]["value"][1])
                if value == expected:
                    return value
            time.sleep(0.5)
        return value

    def targets_health(self) -> list[str]:
        body = json.loads(self._get("/api/v1/targets"))
        return [target["health"] for target in body["data"]["activeTargets"]]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def prometheus(live_server: Any, tmp_path: Path, settings: Any) -> Iterator[Prometheus]:
    settings.METRICS_TOKEN = TOKEN
    target = live_server.url.removeprefix("http://")
    server = Prometheus(tmp_path, target)
    yield server
    server.stop()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_prometheus_scrapes_runs_llm_calls_orders_and_state(
    prometheus: Prometheus, goog: Symbol, llm_server: Any
) -> None:
    # the process's counters are cumulative over the test session: expectations are deltas
    succeeded = _sample("sibyl_runs_total", status="succeeded", trigger="manual")
    llm_ok = _sample(
        "sibyl_llm_calls_total", endpoint="LLM_BASE_URL", model="gpt-4o-mini", outcome="ok"
    )
    prompt_tokens = _sample(
        "sibyl_llm_tokens_total", endpoint="LLM_BASE_URL", model="gpt-4o-mini", kind="prompt"
    )
    llm_steps = _sample("sibyl_step_duration_seconds_count", step="llm", status="succeeded")
    filled = _sample("sibyl_orders_total", status="filled", broker="paper")
    fills = _sample("sibyl_fills_total", broker="paper", side="SELL")
    # given two baseline runs (each sells GOOG as of 2012-06-01: a bracket filled on later bars)
    baseline = StrategyFactory.create(symbol=goog, slug="metrics-baseline")
    for _ in range(2):
        run = strategy_run(strategy=baseline, as_of=AS_OF, trigger="manual")
        assert run.status == "succeeded", run.error_message
    # and one run through the loopback model, which answers BUY
    llm_server.answer_with(decision())
    model_strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", llm_model="gpt-4o-mini", slug="metrics-model"
    )
    run = strategy_run(strategy=model_strategy, as_of=AS_OF, trigger="manual")
    assert run.status == "succeeded", run.error_message
    # and the baseline strategy's account halted
    trading_state_set(
        state="halted", reason="metrics test", source="command", account=baseline.account
    )

    # then Prometheus, scraping every second, answers with the runs and their steps
    assert (
        prometheus.value_when(
            'sibyl_runs_total{status="succeeded",trigger="manual"}', succeeded + 3
        )
        == succeeded + 3
    ), prometheus.query("sibyl_runs_total")
    assert prometheus.targets_health() == ["up"]  # the bearer token was accepted
    assert (
        prometheus.value_when(
            'sibyl_step_duration_seconds_count{step="llm",status="succeeded"}', llm_steps + 3
        )
        == llm_steps + 3
    )
    # the model call with its tokens (the loopback server reports 120 prompt tokens)
    model = 'endpoint="LLM_BASE_URL",model="gpt-4o-mini"'
    assert (
        prometheus.value_when(f'sibyl_llm_calls_total{{{model},outcome="ok"}}', llm_ok + 1)
        == llm_ok + 1
    )
    assert (
        prometheus.value_when(
            f'sibyl_llm_tokens_total{{{model},kind="prompt"}}', prompt_tokens + 120
        )
        == prompt_tokens + 120
    )
    assert prometheus.query(f"sibyl_llm_latency_seconds_count{{{model}}}")
    # orders entering filled: per bracket the entry and one exit, three brackets
    assert (
        prometheus.value_when('sibyl_orders_total{status="filled",broker="paper"}', filled + 6)
        == filled + 6
    )
    # the baseline's two SELL entries fill, and the model bracket's exit sells
    assert (
        prometheus.value_when('sibyl_fills_total{broker="paper",side="SELL"}', fills + 3)
        == fills + 3
    )
    # the database gauges: the halted account (2), the global state (active, 0), realized P&L
    account = f'account_id="{baseline.account_id}"'
    assert prometheus.value_when(f"sibyl_trading_state{{{account}}}", 2) == 2
    assert prometheus.value_when("sibyl_trading_state_global", 0) == 0
    pnl = prometheus.query(f'sibyl_realized_pnl{{strategy="metrics-baseline",{account}}}')
    assert len(pnl) == 1 and pnl[0]["metric"]["currency"] == "USD"
    assert prometheus.value_when('sibyl_positions_open{strategy="metrics-baseline"}', 0) == 0
    assert prometheus.query('sibyl_queue_depth{queue="runs"}')
    # and a query over the series answers (PromQL aggregation across labels)
    total = prometheus.query('sum by (trigger) (sibyl_runs_total{trigger="manual"})')
    assert float(total[0]["value"][1]) >= 3
    # django-prometheus' request and database metrics are there too
    assert prometheus.query(
        'django_http_requests_total_by_view_transport_method_total{view="metrics"}'
    )
    assert prometheus.query("django_db_execute_total")
