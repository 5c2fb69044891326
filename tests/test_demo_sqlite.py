"""The demo's path on its embedded SQLite: migrations, the demo runs and a short backtest, as
`make demo` runs them — so SQL that only PostgreSQL speaks (advisory locks, EXTRACT(EPOCH …),
COPY) cannot slip into it unnoticed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def manage(database: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``manage.py args`` on the SQLite file ``database`` (the demo's settings otherwise), its
    files beside it."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "MEDIA_ROOT": str(database.parent / "media"),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_the_demo_runs_and_a_backtest_work_on_sqlite(tmp_path: Path) -> None:
    database = tmp_path / "demo.sqlite3"
    migrated = manage(database, "migrate", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr[-2000:]

    seeded = manage(database, "seed_demo", "--runs")
    assert seeded.returncode == 0, (seeded.stdout + seeded.stderr)[-3000:]
    assert "account net (sum of its strategies)" in seeded.stdout

    backtest = manage(
        database,
        "backtest",
        "goog-daily-swing",
        "--start",
        "2012-03-01",
        "--end",
        "2012-03-20",
        "--variant",
        "analyst=baseline,label=baseline",
    )
    assert backtest.returncode == 0, (backtest.stdout + backtest.stderr)[-3000:]
    assert "buy and hold" in backtest.stdout
