"""The factories build valid rows with their defaults alone (PostgreSQL constraints included)."""

import pytest

from apps.orders.models import Fill
from tests.factories import (
    BarFactory,
    FillFactory,
    PromptScoreFactory,
    RunFactory,
    SignalFactory,
    StrategyPositionFactory,
)
from tests.orders.helpers import make_bracket, make_strategy

pytestmark = pytest.mark.django_db


def test_defaults_make_valid_rows() -> None:
    run = RunFactory.create()
    assert run.status == "pending" and run.strategy.pk
    signal = SignalFactory.create()
    assert signal.strategy == signal.run.strategy
    assert StrategyPositionFactory.create().quantity > 0
    assert PromptScoreFactory.create().template.pk
    assert BarFactory.create().close > 0


def test_a_fill_belongs_to_the_order_given() -> None:
    entry = make_bracket(make_strategy())[0]
    fill = FillFactory.create(order=entry)
    assert Fill.objects.get(order=entry) == fill
