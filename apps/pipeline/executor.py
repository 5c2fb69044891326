"""Runs a strategy through the six steps, recording each in lineage, stopping at a failure."""

from datetime import datetime
from types import ModuleType

from apps.lineage.models import Run
from apps.lineage.services import (
    RunNotRunningError,
    run_create,
    run_finish,
    run_start,
    step_record,
    step_skip,
)
from apps.pipeline.context import RunContext
from apps.pipeline.steps import charts, data, indicators, llm, order, signal
from apps.strategies.models import Strategy

STEPS: tuple[ModuleType, ...] = (data, indicators, charts, llm, signal, order)


def run_execute(*, run: Run) -> Run:
    """Execute a pending run; returns it finished (succeeded or failed with the step's error).

    A run that is not pending (already taken by another worker, finished or abandoned) is
    returned untouched: a run executes at most once.

    A failed step records its error type and message on its Step row, marks the run failed and
    ends it: later steps do not run. A step may end the run early and successfully (HOLD, a
    rejected signal); the steps after it are recorded as skipped with the reason.
    """
    if not run_start(run=run):
        run.refresh_from_db()
        return run
    strategy = Strategy.objects.select_related("symbol", "prompt_template").get(pk=run.strategy_id)
    ctx = RunContext(run=run, strategy=strategy)
    for sequence, step in enumerate(STEPS, start=1):
        if ctx.stop_reason:
            step_skip(run=run, name=step.NAME, sequence=sequence, reason=ctx.stop_reason)
            continue
        try:
            with step_record(
                run=run, name=step.NAME, sequence=sequence, step_input=step.step_input(ctx)
            ) as recorder:
                step.run(ctx, recorder)
        except RunNotRunningError:
            run.refresh_from_db()
            return run
        except Exception as error:
            run_finish(run=run, error_message=f"{step.NAME}: {type(error).__name__}: {error}")
            return run
    run_finish(run=run)
    return run


def strategy_run(*, strategy: Strategy, as_of: datetime, trigger: str) -> Run:
    """Create a run of ``strategy`` as of ``as_of`` (tz-aware UTC) and execute it inline."""
    return run_execute(run=run_create(strategy_id=strategy.pk, trigger=trigger, as_of=as_of))
