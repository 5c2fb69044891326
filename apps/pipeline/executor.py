"""Runs a strategy through the six steps, recording each in lineage, stopping at a failure."""

from datetime import datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import structlog
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Model
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from apps.common.deadlines import (
    Deadline,
    RunTimeBudgetExceededError,
    deadline_check,
    deadline_scope,
)
from apps.common.errors import SibylError
from apps.lineage.models import Run
from apps.lineage.services import (
    RunNotRunningError,
    StepRecorder,
    run_create,
    run_finish,
    run_start,
    step_fail,
    step_record,
    step_skip,
)
from apps.pipeline.context import RunContext
from apps.pipeline.notices import run_failed_notify
from apps.pipeline.reuse import (
    REUSED_STEPS,
    NotReplayableError,
    SourceInputs,
    reuse_step,
    reused_input,
    source_inputs,
)
from apps.pipeline.steps import charts, data, indicators, llm, order, signal
from apps.strategies.models import Strategy
from apps.strategies.triggers import failed_runs_check

STEPS: tuple[ModuleType, ...] = (data, indicators, charts, llm, signal, order)
CONNECTION_LOST = (OperationalError, InterfaceError)
logger = structlog.get_logger(__name__)


class DatabaseUnavailableError(SibylError):
    """The database connection broke during a step: ``database unavailable during step <name>:
    <the database's error>``. Raised by ``run_execute`` only when the run's outcome could not be
    written within ``RUN_DB_RECOVERY_S``; otherwise it is the failed step's recorded error."""


def run_execute(*, run: Run) -> Run:
    """Execute a pending run; returns it finished (succeeded or failed with the step's error).

    A run that is not pending (already taken by another worker, finished or abandoned) is
    returned untouched: a run executes at most once.

    A failed step records its error type and message on its Step row, marks the run failed and
    ends it: later steps do not run. A step may end the run early and successfully (HOLD, a
    rejected signal); the steps after it are recorded as skipped with the reason.

    The run has ``RUN_TIME_BUDGET_S`` seconds from the moment it is claimed, whatever the
    worker pool (``apps.common.deadlines``): no step starts after it, blocking calls inside the
    steps get at most the time left as their timeout, and the order step checks it again right
    before it creates orders. A run that outlasts its budget before any order exists fails with
    RunTimeBudgetExceededError on the step and the run (see ``_fail_over_budget``); once orders
    were created their submission is never cut short.

    A step that fails because the database connection went away fails the run with
    DatabaseUnavailableError, written through a fresh connection (see ``_record_outage``);
    raises DatabaseUnavailableError when that cannot be done within ``RUN_DB_RECOVERY_S``.

    A run that finished failed counts towards its strategy's ``max_failed_runs``
    (``apps.strategies.triggers.failed_runs_check``), and a failed live run notifies its
    strategy's owner (``run_failed_notify``; never raises).
    """
    if not run_start(run=run):
        run.refresh_from_db()
        return run
    with deadline_scope(Deadline.start(settings.RUN_TIME_BUDGET_S)) as deadline:
        finished = _steps_execute(run, deadline)
    run_ended_followups(finished)
    return finished


def run_ended_followups(run: Run) -> None:
    """What a finished ``run`` sets off, whoever finished it (the executor, or the task that
    failed a run its executor could not, ``run_crash``): a failed run counts towards its
    strategy's ``max_failed_runs`` (``failed_runs_check``: N in a row deactivate it) and a
    failed live run notifies its owner (``run_failed_notify``). Never raises."""
    failed_runs_check(run=run)
    run_failed_notify(run)


def _steps_execute(run: Run, deadline: Deadline) -> Run:
    """Run the steps of a claimed ``run`` in order within ``deadline`` (see ``run_execute``).

    A replay run (``replay_of`` set) takes its data, indicators and charts steps from its
    source run (``apps.pipeline.reuse``); a source that cannot be replayed fails the run with
    NotReplayableError before any step."""
    strategy = Strategy.objects.select_related("symbol", "prompt_template").get(pk=run.strategy_id)
    ctx = RunContext(run=run, strategy=strategy)
    source: SourceInputs | None = None
    if run.replay_of_id is not None:
        try:
            source = source_inputs(run.replay_of_id)
        except NotReplayableError as error:
            run_finish(run=run, error_message=f"replay: {repr_error(error)}")
            return run
    for sequence, step in enumerate(STEPS, start=1):
        if ctx.stop_reason:
            step_skip(run=run, name=step.NAME, sequence=sequence, reason=ctx.stop_reason)
            continue
        reuse = source if step.NAME in REUSED_STEPS else None
        recorder: StepRecorder | None = None
        try:
            step_input = reused_input(reuse, step.NAME) if reuse else step.step_input(ctx)
            with step_record(
                run=run, name=step.NAME, sequence=sequence, step_input=step_input
            ) as recorder:
                deadline_check(f"step {step.NAME}")  # no step starts past the budget
                if reuse is not None:
                    reuse_step(ctx, recorder, step.NAME, reuse)
                else:
                    step.run(ctx, recorder)
        except RunNotRunningError:
            run.refresh_from_db()
            return run
        except Exception as error:
            lost = _lost_connection(error)
            if lost is not None:
                return _record_outage(ctx, step.NAME, recorder, lost)
            over_budget = deadline.expired() or isinstance(error, RunTimeBudgetExceededError)
            if over_budget and not ctx.orders:
                return _fail_over_budget(ctx, step.NAME, recorder, error, deadline)
            run_finish(run=run, error_message=f"{step.NAME}: {type(error).__name__}: {error}")
            return run
    run_finish(run=run)
    return run


def _fail_over_budget(
    ctx: RunContext,
    name: str,
    recorder: StepRecorder | None,
    error: Exception,
    deadline: Deadline,
) -> Run:
    """Fail the run whose step ``name`` ended in ``error`` after its time budget ran out, and
    before any order was created: the step (already recorded failed with ``error``) and the run
    get RunTimeBudgetExceededError, ``run time budget of N s exceeded during <step> after M s;
    no order was sent (<what ran out>)``: in brackets the step's own error (e.g. the model
    call's timeout, as ``<ErrorType>: <message>``) or what the budget stopped. A wait that would
    end past the deadline (a pacing back-off) counts as exceeding it."""
    failure = RunTimeBudgetExceededError(
        f"run time budget of {deadline.budget_s:g} s exceeded during {name} after "
        f"{deadline.elapsed_s():.1f} s; no order was sent"
    )
    cause = str(error) if isinstance(error, RunTimeBudgetExceededError) else repr_error(error)
    message = f"{failure} ({cause})"
    error_type = type(failure).__name__
    if recorder is not None:
        step_fail(
            step=recorder.step,
            output=recorder.output,
            error_type=error_type,
            error_message=message,
        )
    run_finish(run=ctx.run, error_message=f"{name}: {error_type}: {message}")
    return ctx.run


def repr_error(error: BaseException) -> str:
    """``<ErrorType>: <message>`` as lineage shows an error."""
    return f"{type(error).__name__}: {error}"


def _lost_connection(error: BaseException) -> BaseException | None:
    """The first database error in ``error``'s chain if the connection is gone, else None.

    Recording a step's failure on a dead connection raises a second error while the first is
    handled, so the chain is followed. A database error on a connection that still answers (a
    statement timeout, a constraint) is an ordinary step failure.
    """
    lost: BaseException | None = None
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, CONNECTION_LOST):
            lost = seen
        seen = seen.__context__
    if lost is None or (connection.connection is not None and connection.is_usable()):
        return None
    return lost


def _record_outage(
    ctx: RunContext, name: str, recorder: StepRecorder | None, lost: BaseException
) -> Run:
    """Fail the run after its database connection broke during step ``name``.

    The broken connection is closed so each try opens a fresh one; the writes — rows the step
    could not save (``ctx.unrecorded``), the step and the run failed with
    DatabaseUnavailableError — are retried with exponential backoff for ``RUN_DB_RECOVERY_S``
    seconds, in one transaction so a retry never saves a row twice. Past that bound the
    unsaved rows (a paid model call: its model, tokens and cost) and the outcome go to the
    worker's log, the run stays ``running`` for the reaper, and DatabaseUnavailableError is
    raised.
    """
    failure = DatabaseUnavailableError(f"database unavailable during step {name}: {lost}")
    retrying = Retrying(
        stop=stop_after_delay(settings.RUN_DB_RECOVERY_S),
        wait=wait_exponential(multiplier=0.1, max=5.0),
        retry=retry_if_exception_type(CONNECTION_LOST),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                connection.close()  # never reuse a broken connection: the next query reconnects
                _write_failure(ctx, name, recorder, failure)
    except CONNECTION_LOST as still:
        for row in ctx.unrecorded:
            logger.error("row_unrecorded", table=row._meta.label, **_loggable(row))
        logger.error("run_outcome_unrecorded", run_id=ctx.run.pk, step=name, error=str(failure))
        raise failure from still
    ctx.unrecorded.clear()
    return ctx.run


def _write_failure(
    ctx: RunContext, name: str, recorder: StepRecorder | None, failure: DatabaseUnavailableError
) -> None:
    error_type = type(failure).__name__
    with transaction.atomic():
        for row in ctx.unrecorded:
            row.save()
        if recorder is not None:
            step_fail(
                step=recorder.step,
                output=recorder.output,
                error_type=error_type,
                error_message=str(failure),
            )
        run_finish(run=ctx.run, error_message=f"{name}: {error_type}: {failure}")


def _loggable(row: Model) -> dict[str, Any]:
    """A row's column values as log fields (decimals as strings, to keep every digit)."""
    fields = {}
    for column in row._meta.concrete_fields:
        value = getattr(row, column.attname)
        fields[column.attname] = str(value) if isinstance(value, Decimal) else value
    return fields


def strategy_run(
    *,
    strategy: Strategy,
    as_of: datetime,
    trigger: str,
    llm_cache: str = "off",
    scheduled_for: datetime | None = None,
) -> Run:
    """Create a run of ``strategy`` as of ``as_of`` (tz-aware UTC) and execute it inline.

    ``llm_cache``: the run's LLM answer cache mode (off/use/only/refresh; honoured only for
    the ``backtest`` and ``replay`` triggers, see ``apps.analysis.answer_cache``).
    ``scheduled_for`` claims that schedule slot for the run (a backtest's slot): IntegrityError
    when the strategy already has a run for it."""
    run = run_create(
        strategy_id=strategy.pk,
        trigger=trigger,
        as_of=as_of,
        llm_cache=llm_cache,
        scheduled_for=scheduled_for,
    )
    return run_execute(run=run)
