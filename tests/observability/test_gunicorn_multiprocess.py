"""The web app under gunicorn (``config/gunicorn.py``, two workers) in multiprocess mode: a
scrape adds up what every worker counted, and a worker that exits keeps its totals."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from tests.observability.test_prometheus_scrape import _free_port

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "gunicorn-test-token"
REQUESTS = re.compile(
    r'^django_http_requests_total_by_view_transport_method_total\{method="GET",'
    r'transport="http",view="metrics"\} ([0-9.e+]+)$',
    re.M,
)


def _scrape(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return str(answer.read().decode())


def _database_url() -> str:
    db: dict[str, Any] = django_settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker_pids(directory: Path) -> set[str]:
    return {path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}


def test_gunicorn_workers_are_summed_and_survive_a_restart(tmp_path: Path) -> None:
    root, port = tmp_path / "metrics", _free_port()
    web = root / "web"
    web.mkdir(parents=True)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "PROMETHEUS_MULTIPROC_DIR": str(web),
        "METRICS_MULTIPROC_ROOT": str(root),
        "METRICS_TOKEN": TOKEN,
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [str(gunicorn), "-c", "config/gunicorn.py", "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = REQUESTS.search(_scrape(port))
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail((tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.3)
        # when 40 scrapes are spread over the two workers (new connections each)
        for _ in range(40):
            _scrape(port)
        pids = _worker_pids(web)
        body = _scrape(port)
        # then the count is every worker's: the first answer's (it counts itself, and any
        # attempt made while the workers booted), 40, and this scrape
        match = REQUESTS.search(body)
        assert match is not None and first is not None, body[:2000]
        expected = float(first.group(1)) + 41
        assert float(match.group(1)) == expected
        assert len(pids) == 2, pids  # both workers wrote their own files
        # when one worker exits and gunicorn replaces it (child_exit marks it dead)
        os.kill(int(sorted(pids)[0]), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while len(_worker_pids(web)) < 3 and time.monotonic() < deadline:
            _scrape(port)
        # then its requests still count
        match = REQUESTS.search(_scrape(port))
        assert match is not None and float(match.group(1)) > expected
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
