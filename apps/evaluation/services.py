"""Creating and running backtests: every schedule slot of a window, as ordinary runs.

A backtest's variants run one after the other in this process (``backtest_run``), or in
parallel, one Celery task per variant on the ``runs`` queue (``apps.evaluation.tasks``, which
calls ``backtest_variant_run`` slice by slice). A variant's slots run in time order; before each
slot the variant's paper account is advanced to the slot (``Account.paper_clock`` and
``apps.orders.paper_broker.paper_advance``), so the run sees the fills, positions and cash of
that moment, and its own orders fill only on bars closed by its as-of. Each slot becomes one
run of the hidden strategy copy with trigger ``backtest``, ``as_of`` and ``scheduled_for`` the
slot, executed by ``apps.pipeline.executor`` exactly as a live run.

Resume: a run is unique per (strategy, scheduled_for), so a slot that already has a run is
not run again (a pending one left by a killed worker is executed; one left running belongs
to the reaper). Cancel: a backtest whose status became ``cancelled`` stops between slots.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.analysis.costs import llm_cost_estimate
from apps.evaluation.models import Backtest, BacktestKind, BacktestStatus, BacktestVariant
from apps.lineage.models import LlmCacheMode, Run, RunStatus, RunTrigger
from apps.lineage.services import run_create
from apps.orders.end_of_day import end_of_day_close
from apps.orders.followups import reverses_continue, scale_ins_continue
from apps.orders.paper_broker import paper_advance
from apps.orders.services import orders_apply
from apps.pipeline.executor import run_execute
from apps.pipeline.prefetch import SlotPrefetch
from apps.strategies.models import AnalystKind, Strategy, TradingMode
from apps.strategies.schedule import next_slot_after
from apps.symbols.calendars import has_session_on, session_close_windows
from apps.trading.models import Account, AccountCash, BrokerKind

BACKTEST_TRIGGER = RunTrigger.BACKTEST
BASELINE_REFERENCE_LABEL = "baseline analyst"

# progress(variant, slots_done, slots_total) after each slot
Progress = Callable[[BacktestVariant, int, int], None]


class BacktestError(ValueError):
    """A backtest that cannot be created: a naive or reversed window, an unknown prompt
    version, an empty variant list."""


@dataclass(frozen=True)
class VariantSpec:
    """How one variant differs from the strategy: blank/None keeps the strategy's own model
    (``llm_model``), prompt version (``prompt_template_id``) or analyst (``baseline`` or
    ``openai``); ``label`` names it in the report."""

    label: str
    llm_model: str = ""
    prompt_template_id: int | None = None
    analyst: str = ""


def backtest_slots(strategy: Strategy, start: datetime, end: datetime) -> list[datetime]:
    """The schedule slots (tz-aware UTC, in time order) of ``strategy``'s ``schedule_cron`` in
    ``schedule_timezone`` from ``start`` to ``end`` inclusive, without the slots live dispatch
    skips as "exchange closed" (``skip_closed_market`` and no session of the symbol's
    ``trading_calendar`` on the slot's date: ``apps.symbols.calendars.has_session_on``, the
    check ``apps.pipeline.dispatch`` makes)."""
    slots: list[datetime] = []
    calendar = strategy.symbol.trading_calendar
    slot = next_slot_after(strategy.schedule_cron, strategy.schedule_timezone, start - _TICK)
    while slot <= end:
        if not strategy.skip_closed_market or has_session_on(
            trading_calendar=calendar, moment=slot
        ):
            slots.append(slot)
        slot = next_slot_after(strategy.schedule_cron, strategy.schedule_timezone, slot)
    return slots


_TICK = timedelta(microseconds=1)


def _starting_cash(strategy: Strategy) -> dict[str, Decimal]:
    """The owner's starting cash per currency: the strategy's paper account's, else the
    default paper account's ``PAPER_BUYING_POWER`` in USD."""
    if strategy.account.broker == BrokerKind.PAPER:
        rows: dict[str, Decimal] = dict(
            AccountCash.objects.filter(account=strategy.account).values_list(
                "currency", "starting_cash"
            )
        )
        if rows:
            return rows
    return {"USD": settings.PAPER_BUYING_POWER}


def _variant_account(strategy: Strategy, backtest: Backtest, spec: VariantSpec) -> Account:
    """A new paper account for one variant: the strategy account's policies, the owner's
    starting cash, its paper clock at the window's start."""
    source = strategy.account
    account = Account.objects.create(
        name=f"backtest {backtest.pk}: {spec.label}"[:128],
        owner=strategy.owner,
        broker=BrokerKind.PAPER,
        base_currency=source.base_currency,
        position_mode=source.position_mode,
        opposite_policy=source.opposite_policy,
        same_direction_policy=source.same_direction_policy,
        max_position_per_symbol=source.max_position_per_symbol,
        paper_clock=backtest.start,
    )
    AccountCash.objects.bulk_create(
        AccountCash(account=account, currency=currency, starting_cash=amount)
        for currency, amount in _starting_cash(strategy).items()
    )
    return account


def _clone(strategy: Strategy, backtest: Backtest, n: int, spec: VariantSpec, account: Account):
    """The hidden copy of ``strategy`` variant ``n`` runs: inactive, never scheduled, paper,
    trading ``account``, with the variant's model, prompt version and analyst."""
    clone = Strategy.objects.get(pk=strategy.pk)
    clone.pk = None
    clone.slug = f"bt-{backtest.pk}-{n}"
    clone.name = f"{strategy.name} (backtest {backtest.pk}: {spec.label})"[:128]
    clone.account = account
    clone.is_active = False
    clone.next_run_at = None
    clone.trading_mode = TradingMode.PAPER
    clone.backtest_of = strategy
    if spec.llm_model:
        clone.llm_model = spec.llm_model
    if spec.prompt_template_id is not None:
        clone.prompt_template_id = spec.prompt_template_id
    if spec.analyst:
        clone.analyst = spec.analyst
    clone.clean()  # the owner may use the prompt version (raises ValidationError)
    clone.save()
    return clone


def backtest_create(
    *,
    strategy: Strategy,
    start: datetime,
    end: datetime,
    variants: Sequence[VariantSpec] = (),
    created_by: User | None = None,
    llm_cache: str = LlmCacheMode.OFF,
    anonymise: bool = False,
    baseline_reference: bool = True,
) -> Backtest:
    """A pending backtest of ``strategy`` over [``start``, ``end``] (tz-aware UTC) with one
    variant per spec (none: one variant, the strategy as it is, labelled ``strategy``); each
    gets its own paper account and hidden strategy copy, and ``slots_total`` counts its slots.
    With ``baseline_reference`` (default) and no variant on the baseline analyst, one more
    variant, ``reference``, runs the baseline analyst (rule-based: no LLM call, no cost) over
    the same slots — the report's baseline reference row.
    ``llm_cache`` (off/use/only/refresh) is the LLM answer cache mode of every run it makes;
    ``anonymise`` makes every run anonymised (``Run.anonymise``: no ticker or date shown to
    the model).

    Raises BacktestError for a naive or reversed window or an unknown cache mode;
    ValidationError for a prompt version the owner may not use."""
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise BacktestError("start and end must be timezone-aware")
    if end < start:
        raise BacktestError("end is before start")
    modes = [m for m in LlmCacheMode.values if m != LlmCacheMode.RECORDED]  # replays only
    if llm_cache not in modes:
        raise BacktestError(f"llm_cache must be one of {modes}, not {llm_cache!r}")
    specs = list(variants) or [VariantSpec(label="strategy")]
    compared = len(specs)
    if baseline_reference and not any(
        (spec.analyst or strategy.analyst) == AnalystKind.BASELINE for spec in specs
    ):
        specs.append(VariantSpec(label=BASELINE_REFERENCE_LABEL, analyst=AnalystKind.BASELINE))
    total = len(backtest_slots(strategy, start, end))
    with transaction.atomic():
        backtest = Backtest.objects.create(
            strategy=strategy,
            created_by=created_by,
            start=start,
            end=end,
            llm_cache=llm_cache,
            anonymise=anonymise,
        )
        for n, spec in enumerate(specs, start=1):
            account = _variant_account(strategy, backtest, spec)
            clone = _clone(strategy, backtest, n, spec, account)
            BacktestVariant.objects.create(
                backtest=backtest,
                position=n,
                label=spec.label,
                llm_model=spec.llm_model,
                prompt_template_id=spec.prompt_template_id,
                analyst=spec.analyst,
                reference=n > compared,
                account=account,
                clone=clone,
                slots_total=total,
            )
    return backtest


def _variant_strategy(strategy: Strategy, spec: VariantSpec) -> Strategy:
    """An unsaved in-memory copy of ``strategy`` with the variant's model, prompt version and
    analyst (same pk: its recent calls give the typical tokens)."""
    copy = Strategy.objects.get(pk=strategy.pk)
    if spec.llm_model:
        copy.llm_model = spec.llm_model
    if spec.prompt_template_id is not None:
        copy.prompt_template_id = spec.prompt_template_id
    if spec.analyst:
        copy.analyst = spec.analyst
    return copy


def backtest_cost_estimate(
    *, strategy: Strategy, start: datetime, end: datetime, variants: Sequence[VariantSpec] = ()
) -> Decimal:
    """Estimated LLM cost (USD) of backtesting ``strategy`` over [``start``, ``end``] with
    ``variants`` (none: the strategy as it is), before any call and with no cache hit: per
    variant ``apps.analysis.costs.llm_cost_estimate`` of its model, prompt and analyst × the
    window's slots (a rule-based analyst costs 0), summed."""
    slots = len(backtest_slots(strategy, start, end))
    specs = list(variants) or [VariantSpec(label="strategy")]
    return sum(
        (
            llm_cost_estimate(strategy=_variant_strategy(strategy, spec), slots=slots)
            for spec in specs
        ),
        Decimal(0),
    )


def backtest_remaining_cost_estimate(backtest: Backtest) -> Decimal:
    """Estimated LLM cost (USD) of the slots ``backtest``'s variants have not run yet (each
    hidden copy's ``llm_cost_estimate`` × its remaining slots)."""
    return sum(
        (
            llm_cost_estimate(strategy=v.clone, slots=max(0, v.slots_total - v.slots_done))
            for v in backtest.variants.select_related("clone__prompt_template")
        ),
        Decimal(0),
    )


def account_advance(*, account: Account, until: datetime) -> int:
    """Move the paper clock of a backtest's ``account`` to ``until`` (never back) and record
    in Sibyl every fill the paper book makes on bars closed by then (``orders_apply``: fills
    once each, positions updated). Returns the number of new fills."""
    Account.objects.filter(pk=account.pk).filter(
        Q(paper_clock__isnull=True) | Q(paper_clock__lt=until)
    ).update(paper_clock=until)
    states, executions = paper_advance(account.broker_key, until)
    if not states and not executions:  # nothing working on the book: nothing to record
        return 0
    return orders_apply(states=states, executions=executions).new_fills


def clock_advance(*, account: Account, strategy: Strategy, until: datetime) -> None:
    """Walk a backtest ``account`` traded by the hidden copy ``strategy`` from its paper clock
    to ``until`` (tz-aware UTC) as the live beat would have: at the start of each end-of-day
    window of the strategy's exchange in between (``close_before_session_end_min``), the clock
    stops there and the copy is closed-all (``end_of_day_close``); every stop applies the fills
    of bars closed by then (``account_advance``) and goes on with the account's reverses and
    scale-ins whose orders filled (``reverses_continue`` / ``scale_ins_continue``), which the
    live monitor leaves to the runner. Raises what the paper book or a close raises."""
    since = Account.objects.filter(pk=account.pk).values_list("paper_clock", flat=True).first()
    stops: list[tuple[datetime, datetime | None]] = []
    if since is not None and strategy.close_before_session_end_min:
        stops = list(
            session_close_windows(
                calendar_name=strategy.symbol.trading_calendar,
                minutes_before=strategy.close_before_session_end_min,
                after=since,
                until=until,
            )
        )
    for moment, session_close in [*stops, (until, None)]:
        account_advance(account=account, until=moment)
        errors = reverses_continue(account_id=account.pk) + scale_ins_continue(
            account_id=account.pk
        )
        if errors:
            raise BacktestError("; ".join(errors))
        if session_close is not None:
            report = end_of_day_close(strategy=strategy, now=moment, session_close=session_close)
            if report.errors:
                raise BacktestError("; ".join(report.errors))


def backtest_cancel(*, backtest: Backtest) -> None:
    """Ask a pending or running backtest to stop: the runner stops before its next slot."""
    Backtest.objects.filter(
        pk=backtest.pk, status__in=[BacktestStatus.PENDING, BacktestStatus.RUNNING]
    ).update(status=BacktestStatus.CANCELLED, finished_at=timezone.now())


def _slot_run_create(
    clone: Strategy, slot: datetime, llm_cache: str = LlmCacheMode.OFF, anonymise: bool = False
) -> Run:
    """The pending run of ``clone`` for ``slot`` (its as-of and ``scheduled_for``), trigger
    ``backtest``, in the backtest's LLM answer cache mode and anonymisation (``run_create``).
    IntegrityError when the slot already has a run (never twice)."""
    return run_create(
        strategy_id=clone.pk,
        trigger=BACKTEST_TRIGGER,
        as_of=slot,
        scheduled_for=slot,
        llm_cache=llm_cache,
        anonymise=anonymise,
    )


class _Stop(Exception):
    """The runner's slot budget (``max_slots``) ran out: stop as a killed worker would."""


class VariantOutcome:
    """What ``backtest_variant_run`` ended with."""

    DONE = "done"  # every slot has a run; the account advanced to the window's end
    CANCELLED = "cancelled"  # the backtest was cancelled: stopped before a slot
    PAUSED = "paused"  # the deadline came: continue with another call
    TAKEN = "taken"  # another worker created the next slot's run: this one stops


def backtest_run(
    backtest: Backtest, *, max_slots: int | None = None, progress: Progress | None = None
) -> Backtest:
    """Run (or resume) ``backtest`` in this process: each variant's slots in time order, one
    run each, the variants one after the other.

    Returns the backtest, ``done`` after the last slot of the last variant (the accounts
    advanced to ``end``), ``cancelled`` when cancelled meanwhile, ``failed`` (``error`` set)
    when the runner itself failed — a run that fails is a failed run in lineage, not a failed
    backtest. ``max_slots`` stops after that many new runs, leaving the backtest ``running``
    as a killed worker would (tests; resume with another call). ``progress`` is called with
    (variant, slots done, slots total) after each slot."""
    backtest.refresh_from_db()
    if not backtest_mark_running(backtest):
        return backtest
    budget = [max_slots]
    try:
        for variant in backtest.variants.select_related("clone__symbol", "account"):
            if variant.status == BacktestStatus.DONE:
                continue
            outcome = _variant_run(backtest, variant, budget, progress, deadline=None)
            if outcome != VariantOutcome.DONE:
                backtest.refresh_from_db()
                return backtest
    except _Stop:
        backtest.refresh_from_db()
        return backtest
    except Exception as error:
        _backtest_fail(backtest, error)
        raise
    Backtest.objects.filter(pk=backtest.pk, status=BacktestStatus.RUNNING).update(
        status=BacktestStatus.DONE, finished_at=timezone.now()
    )
    backtest.refresh_from_db()
    return backtest


def backtest_mark_running(backtest: Backtest) -> bool:
    """Mark a pending, running or failed ``backtest`` running (error cleared); False (nothing
    changed) when it is already ``done`` or ``cancelled``."""
    return bool(
        Backtest.objects.filter(pk=backtest.pk)
        .exclude(status__in=[BacktestStatus.DONE, BacktestStatus.CANCELLED])
        .update(status=BacktestStatus.RUNNING, error="")
    )


def backtest_reopen(backtest: Backtest) -> bool:
    """Make a ``failed`` or ``cancelled`` ``backtest`` ``pending`` again (error and finish time
    cleared) so that a start resumes it; its finished slots keep their runs and are not run
    again. Returns False (nothing changed) for any other status: a ``pending`` or ``running``
    backtest needs no reopening and a ``done`` one has nothing left."""
    reopened = Backtest.objects.filter(
        pk=backtest.pk, status__in=[BacktestStatus.FAILED, BacktestStatus.CANCELLED]
    ).update(status=BacktestStatus.PENDING, error="", finished_at=None)
    backtest.refresh_from_db()
    return bool(reopened)


def backtest_dispatch_failed(backtest: Backtest, error: Exception) -> None:
    """Record that ``backtest``'s variants could not be sent to the task queue (``error``, the
    broker's): it becomes ``failed`` with a reason that says to resume it, so it is never left
    ``running`` with no worker on it."""
    _backtest_fail(
        backtest, RuntimeError(f"the task queue was unreachable ({error}); resume the backtest")
    )


def _backtest_fail(backtest: Backtest, error: Exception) -> None:
    Backtest.objects.filter(pk=backtest.pk).exclude(status=BacktestStatus.CANCELLED).update(
        status=BacktestStatus.FAILED,
        error=f"{type(error).__name__}: {error}",
        finished_at=timezone.now(),
    )


def backtest_variant_run(
    variant: BacktestVariant, *, deadline: float | None = None, progress: Progress | None = None
) -> str:
    """Run (or resume) one variant's remaining slots in time order, one run each: the unit of
    work of a parallel backtest (``apps.evaluation.tasks.backtest_variant_run``).

    ``deadline`` (``time.monotonic()`` seconds): no new slot is started after it (``paused``:
    call again to continue). Returns a ``VariantOutcome``. When the variant is ``done`` and
    every variant of its backtest is, the backtest becomes ``done``. An error of the runner
    itself (not of a run: a failed run is a failed run in lineage) marks the variant and the
    backtest ``failed`` and is re-raised. A slot whose run another worker created meanwhile,
    or whose run is still running (a message delivered twice), stops this call with ``taken``:
    no slot runs twice, and no slot starts before the one before it has finished. (A run left
    running by a dead worker thus holds its variant until the reaper marks it abandoned; then
    start the backtest again.)"""
    backtest = variant.backtest
    if backtest.status == BacktestStatus.CANCELLED:
        BacktestVariant.objects.filter(pk=variant.pk).exclude(status=BacktestStatus.DONE).update(
            status=BacktestStatus.CANCELLED
        )
        return VariantOutcome.CANCELLED
    if variant.status == BacktestStatus.DONE:
        outcome = VariantOutcome.DONE
    else:
        try:
            outcome = _variant_run(backtest, variant, [None], progress, deadline=deadline)
        except Exception as error:
            BacktestVariant.objects.filter(pk=variant.pk).update(
                status=BacktestStatus.FAILED, error=f"{type(error).__name__}: {error}"
            )
            _backtest_fail(backtest, error)
            raise
    # the variant's DONE is committed before the check: of two ending at once, the later sees both
    if (
        outcome == VariantOutcome.DONE
        and not backtest.variants.exclude(status=BacktestStatus.DONE).exists()
    ):
        Backtest.objects.filter(pk=backtest.pk, status=BacktestStatus.RUNNING).update(
            status=BacktestStatus.DONE, finished_at=timezone.now()
        )
    return outcome


def _cancelled(backtest: Backtest) -> bool:
    status = Backtest.objects.values_list("status", flat=True).get(pk=backtest.pk)
    return status == BacktestStatus.CANCELLED


def _running(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists()


@contextmanager
def _asynchronous_commits() -> Iterator[None]:
    """Within the block, this connection's commits do not wait for the WAL flush
    (PostgreSQL ``synchronous_commit = off``; other databases: nothing changes).

    A backtest commits a dozen times per slot (run, steps, artifacts, fills), and waiting for
    each fsync was a large part of a slot's time. What this gives up: after a crash of the
    database server or the machine (not of a worker), the last few hundred milliseconds of
    commits may be lost — always a suffix, so the database stays consistent and it looks as if
    the backtest had stopped a moment earlier; resuming it runs the lost slots again. Never used
    for live runs. The setting is reset when the block ends, the connection being reused."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        if connection.connection is not None and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _variant_run(
    backtest: Backtest,
    variant: BacktestVariant,
    budget: list[int | None],
    progress: Progress | None,
    *,
    deadline: float | None,
) -> str:
    """Run the variant's remaining slots (a replay's: source runs, ``apps.evaluation.replay``)
    with ``_asynchronous_commits``, a backtest's bars, indicators and charts computed ahead by
    ``apps.pipeline.prefetch.SlotPrefetch``; returns a ``VariantOutcome``."""
    if backtest.kind == BacktestKind.REPLAY:
        from apps.evaluation.replay import replay_variant_run  # replay builds on this module

        return replay_variant_run(backtest, variant, budget, progress, deadline=deadline)
    with _asynchronous_commits():
        return _variant_slots_run(backtest, variant, budget, progress, deadline=deadline)


def _variant_slots_run(
    backtest: Backtest,
    variant: BacktestVariant,
    budget: list[int | None],
    progress: Progress | None,
    *,
    deadline: float | None,
) -> str:
    clone = variant.clone
    slots = backtest_slots(clone, backtest.start, backtest.end)
    existing = dict(
        Run.objects.filter(strategy=clone, scheduled_for__isnull=False).values_list(
            "scheduled_for", "pk"
        )
    )
    BacktestVariant.objects.filter(pk=variant.pk).update(
        status=BacktestStatus.RUNNING, slots_total=len(slots)
    )
    done = sum(1 for slot in slots if slot in existing)
    BacktestVariant.objects.filter(pk=variant.pk).update(slots_done=done)
    todo = [slot for slot in slots if slot not in existing]
    todo_index = {slot: n for n, slot in enumerate(todo)}
    # An anonymised run draws its own chart (no title, no dates): nothing to compute ahead.
    with SlotPrefetch(clone, [] if backtest.anonymise else todo) as prefetch:
        for slot in slots:
            if _cancelled(backtest):
                BacktestVariant.objects.filter(pk=variant.pk).update(
                    status=BacktestStatus.CANCELLED
                )
                return VariantOutcome.CANCELLED
            run_id = existing.get(slot)
            if run_id is not None:
                pending = Run.objects.filter(pk=run_id, status=RunStatus.PENDING).first()
                if pending is None:
                    if deadline is not None and _running(run_id):
                        # a task: another worker is on this slot (a message delivered twice);
                        # the next slot must wait for it, so this one stops
                        return VariantOutcome.TAKEN
                    continue
                clock_advance(account=variant.account, strategy=clone, until=slot)
                run_execute(run=pending)  # created before a worker died: executed at most once
                continue
            if deadline is not None and time.monotonic() >= deadline:
                return VariantOutcome.PAUSED
            if budget[0] is not None:
                if budget[0] <= 0:
                    raise _Stop
                budget[0] -= 1
            prefetch.advance(todo_index[slot])
            clock_advance(account=variant.account, strategy=clone, until=slot)
            try:
                run = _slot_run_create(clone, slot, backtest.llm_cache, backtest.anonymise)
            except IntegrityError:
                return VariantOutcome.TAKEN
            run_execute(run=run)
            done += 1
            BacktestVariant.objects.filter(pk=variant.pk).update(slots_done=done)
            if progress is not None:
                progress(variant, done, len(slots))
    clock_advance(account=variant.account, strategy=clone, until=backtest.end)
    BacktestVariant.objects.filter(pk=variant.pk).update(
        status=BacktestStatus.DONE, slots_done=done
    )
    return VariantOutcome.DONE
