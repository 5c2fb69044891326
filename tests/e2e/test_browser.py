"""End to end in a real browser (Debian's Chromium driven by playwright-core): a trader signs
in, creates a strategy, presses run now, and reads the run's lineage — six steps, the chart,
the prompt, the order — then saves a new version of the prompt template, moves the strategy
to it and previews it.

The whole stack is real: Django serving the built app and the API (pytest-django's live server
on the PostgreSQL test database), a Celery worker process on Redis, the paper broker, and a
loopback model. Screenshots go to ``var/screenshots/``."""

import os
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from apps.analysis.models import PromptTemplate
from apps.lineage.models import Run
from apps.marketdata.models import Bar
from apps.orders.models import Order
from apps.symbols.models import Symbol
from tests.celery_worker import celery_worker
from tests.factories import PromptTemplateFactory, UserFactory, decision_answer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FRONTEND = Path(settings.BASE_DIR) / "frontend"
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
PASSWORD = "e2e-password-1"
TEMPLATE = (
    "Analyse {{ symbol.symbol }} on {{ bar_size }} bars as of {{ as_of }}. "
    "Last close {{ bars.last.close }}. Decide BUY, SELL or HOLD."
)


def _answer_for_last_close(symbol: Symbol) -> dict[str, Any]:
    """A BUY at the last stored close with a 3 % stop and an 8 % target (reward/risk 2.67):
    run now sees the latest bars, so the answer must sit at their close to pass the checks."""
    last = Bar.objects.filter(symbol=symbol, bar_size="1 day").latest("ts").close
    return decision_answer(
        entry=float(last),
        stop_loss=float((last * Decimal("0.97")).quantize(Decimal("0.01"))),
        take_profit=float((last * Decimal("1.08")).quantize(Decimal("0.01"))),
        confidence=0.8,
    )


def _bars_until_yesterday(symbol: Symbol) -> None:
    """The shipped bars end in 2013, and a run now does not trade on stale data: ten more
    daily bars up to yesterday (UTC) at the last stored close, so "Run now" sees a fresh bar."""
    last = Bar.objects.filter(symbol=symbol, bar_size="1 day").latest("ts")
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    Bar.objects.bulk_create(
        Bar(
            symbol=symbol,
            bar_size="1 day",
            ts=today - timedelta(days=n),
            open=last.close,
            high=last.close,
            low=last.close,
            close=last.close,
            volume=1000,
        )
        for n in range(10, 0, -1)
    )


def test_a_trader_creates_a_strategy_runs_it_and_reads_its_lineage(
    live_server: Any, goog: Symbol, llm_server: Any
) -> None:
    assert (settings.FRONTEND_DIST / "index.html").is_file(), "build the app: make frontend"
    _bars_until_yesterday(goog)
    trader = UserFactory.create(username="e2e-trader", password=PASSWORD)
    PromptTemplateFactory.create(owner=trader, name="e2e-swing", body=TEMPLATE)
    llm_server.answer_with(_answer_for_last_close(goog))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    env = {
        **os.environ,
        "E2E_BASE_URL": live_server.url,
        "E2E_USERNAME": "e2e-trader",
        "E2E_PASSWORD": PASSWORD,
        "E2E_SYMBOL": "GOOG",
        "E2E_PROMPT_TEMPLATE": "e2e-swing",
        "E2E_SCREENSHOTS": str(SCREENSHOTS),
    }
    with celery_worker(name="e2e", llm_base_url=llm_server.base_url):
        browser = subprocess.run(
            ["node", "e2e/lineage.e2e.mjs"],
            cwd=FRONTEND,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert browser.returncode == 0, browser.stdout + browser.stderr
    # the database agrees with what the browser showed
    run = Run.objects.get(strategy__slug="e2e-swing")
    owner = run.strategy.owner
    assert (run.status, run.trigger, owner and owner.username) == (
        "succeeded",
        "manual",
        "e2e-trader",
    )
    assert run.steps.count() == 6
    assert sorted(Order.objects.filter(run=run).values_list("role", flat=True)) == [
        "entry",
        "stop_loss",
        "take_profit",
    ]
    template = PromptTemplate.objects.filter(name="e2e-swing").latest("version")
    assert template.version == 2 and template.body.endswith("Mind the {{ bar_size }} trend.")
    run.strategy.refresh_from_db()
    assert run.strategy.prompt_template_id == template.pk
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 10
