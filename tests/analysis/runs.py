"""Running a strategy through the OpenAI-compatible analyst, for the llm step's tests."""

from datetime import UTC, datetime
from typing import Any

from apps.lineage.models import Run, Step
from apps.pipeline.executor import strategy_run
from apps.symbols.models import Symbol
from tests.factories import StrategyFactory

AS_OF = datetime(2012, 6, 1, tzinfo=UTC)


def run_strategy(goog: Symbol, **fields: Any) -> Run:
    """A run, executed inline as of ``AS_OF``, of a new ``openai``-analyst strategy on ``goog``
    with ``fields`` set on the strategy."""
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", **fields)
    return strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")


def llm_step(run: Run) -> Step:
    """The run's llm step."""
    return run.steps.get(name="llm")
