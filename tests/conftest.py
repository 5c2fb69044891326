"""Shared fixtures: real PostgreSQL (pytest-django), artifacts in a temporary folder, the
shipped GOOG daily bars, and a loopback OpenAI-compatible server for scripted model answers."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from apps.marketdata.csv_import import bars_import_csv
from apps.symbols.models import Symbol
from tests.factories import SymbolFactory
from tests.llm_server import ScriptedLlmServer

BARS_DIR = Path(settings.BASE_DIR) / "data" / "bars"


@pytest.fixture(autouse=True)
def _media_root(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Each test starts with an empty (per-process) cache: sign-in throttle counts included."""
    cache.clear()


@pytest.fixture
def goog(db: None) -> Symbol:
    """GOOG with the shipped real daily bars (2004-08-19 .. 2013-03-01)."""
    symbol = SymbolFactory.create(symbol="GOOG", timezone="America/New_York")
    bars_import_csv(path=BARS_DIR / "GOOG_1d.csv", symbol=symbol, bar_size="1 day")
    return symbol


@pytest.fixture
def llm_server(settings: object) -> object:
    """A loopback OpenAI-compatible server; ``LLM_BASE_URL`` points at it for the test."""
    server = ScriptedLlmServer()
    server.start()
    settings.LLM_BASE_URL = server.base_url  # type: ignore[attr-defined]
    settings.LLM_API_KEY = "sk-test-secret-key-123"  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def runs_queue() -> Iterator[redis.Redis]:
    """The Celery ``runs`` queue on the test Redis database, emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("runs")
    yield client
    client.delete("runs")
    client.close()
