"""The orders-by-status counter counts an order's first status too: a bracket created pending
is three orders entering ``pending`` (then ``submitting``, ``submitted``, …)."""

from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

pytestmark = pytest.mark.django_db


def _orders_entering(status: str) -> float:
    return (
        REGISTRY.get_sample_value("sibyl_orders_total", {"status": status, "broker": "paper"})
        or 0.0
    )


def test_a_bracket_created_pending_counts_three_orders_entering_pending(
    goog: Symbol, django_capture_on_commit_callbacks: Any
) -> None:
    pending, submitted = _orders_entering("pending"), _orders_entering("submitted")
    strategy = StrategyFactory.create(symbol=goog)  # the baseline analyst sells GOOG then

    with django_capture_on_commit_callbacks(execute=True):
        run = strategy_run(
            strategy=strategy, as_of=datetime(2012, 6, 1, tzinfo=UTC), trigger="manual"
        )

    assert run.status == "succeeded", run.error_message
    assert run.orders.count() == 3
    assert _orders_entering("pending") == pending + 3
    assert _orders_entering("submitted") == submitted + 3
