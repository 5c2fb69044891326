"""The weekly cleanup prunes a run that closed a position: its position action and the orders
that action sent go with it (``Order.action`` is protected, so they must go first)."""

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.lineage.models import Run
from apps.orders.models import Order, PaperOrder, PositionAction
from apps.pipeline.cleanup import records_prune
from apps.positions.models import StrategyPosition
from apps.symbols.models import Symbol
from tests.factories import decision_answer as decision
from tests.pipeline.test_position_actions import SELL, long_strategy, run_answering

pytestmark = pytest.mark.django_db


def test_a_run_that_closed_a_position_is_pruned_with_its_action(
    goog: Symbol, llm_server: Any
) -> None:
    strategy = long_strategy(goog)
    run = run_answering(strategy, llm_server, decision(**SELL))
    assert run.status == "succeeded", run.error_message
    [exit_order] = Order.objects.filter(action__run=run)
    assert PaperOrder.objects.filter(client_order_ref=exit_order.client_order_ref).exists()
    Run.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=100))

    report = records_prune(now=timezone.now(), retention_days=90)

    assert (report.runs, report.orders) == (1, 1), report
    assert not PositionAction.objects.filter(pk__in=[exit_order.action_id]).exists()
    assert not Order.objects.filter(pk=exit_order.pk).exists()
    assert not PaperOrder.objects.filter(client_order_ref=exit_order.client_order_ref).exists()
    # positions are account state: the closed lifetime stays
    assert StrategyPosition.objects.filter(strategy=strategy, status="closed").exists()
