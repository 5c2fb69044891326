"""Replays: stored runs re-executed from the llm step with another model, endpoint or prompt.

A replay is a ``Backtest`` with ``kind=replay``. Its source is either a strategy's own runs
(live triggers ``schedule``, ``manual``, ``api``) with an as-of in [``start``, ``end``], or the
runs of one variant of a backtest (``source_variant``, window: that backtest's). Each variant
has, as a backtest variant has, its own paper account (``Account.paper_clock``) and hidden
strategy copy (``Strategy.backtest_of``); variant 1, ``original``, answers with the source
runs' recorded LLM answers (``recorded_answers``; cache mode ``recorded``,
``apps.analysis.answer_cache.RecordedAnswerCache``: no request), so the original is scored on
the same paper broker the same way as the variants beside it.

For every source run, in as-of order, a variant creates one run of its copy (trigger
``replay``, the source's ``as_of``, ``replay_of`` the source run) after advancing its paper
account to that as-of, and executes it through the pipeline's executor: the data, indicators
and charts steps reuse the source run's stored outputs and chart artifacts
(``apps.pipeline.reuse``: no bar read, no chart render), then llm → signal → order run as live
on the variant's paper account. A source run that cannot be replayed (its charts step did not
succeed) gets a ``skipped`` replay run whose error message says why.

Progress, cancel, resume, the parallel Celery tasks and the report are the backtest's
(``apps.evaluation.services`` hands a replay's variants to ``replay_variant_run``; a run is
unique per (copy, source run), so resuming never replays a source run twice).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.analysis.costs import llm_cost_estimate
from apps.analysis.endpoints import llm_endpoint_usable_by, llm_endpoints_usable
from apps.analysis.models import LlmEndpoint
from apps.evaluation.models import Backtest, BacktestKind, BacktestVariant
from apps.evaluation.services import (
    BacktestError,
    Progress,
    VariantSpec,
    WalkStep,
    _clone,
    _variant_account,
    _variant_strategy,
    variant_walk,
)
from apps.lineage.models import LlmCacheMode, Run, RunStatus, RunTrigger
from apps.lineage.services import run_create
from apps.pipeline.reuse import replay_skip_reason
from apps.strategies.models import Strategy

# The triggers of a strategy's own (live) runs: what a replay of a strategy re-executes.
LIVE_TRIGGERS = (RunTrigger.SCHEDULE, RunTrigger.MANUAL, RunTrigger.API)
# Source runs still executing are not replayed (their outcome is not stored yet).
UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)
ORIGINAL = "original"


@dataclass(frozen=True)
class ReplaySpec:
    """How one replay variant differs from the source strategy: blank/None keeps the
    strategy's own model (``llm_model``), prompt version (``prompt_template_id``), analyst
    (``analyst``) or LLM endpoint (``llm_endpoint_id``); ``label`` names it in the report."""

    label: str
    llm_model: str = ""
    prompt_template_id: int | None = None
    analyst: str = ""
    llm_endpoint_id: int | None = None


def replay_sources(backtest: Backtest) -> QuerySet[Run]:
    """The stored runs ``backtest`` (a replay) re-executes, in as-of order (then id): the
    source variant's copy's runs, or else the strategy's own live runs with an as-of in
    [``start``, ``end``]; runs still pending or running are left out."""
    if backtest.source_variant is not None:
        runs = Run.objects.filter(strategy_id=backtest.source_variant.clone_id)
    else:
        runs = Run.objects.filter(strategy_id=backtest.strategy_id, trigger__in=LIVE_TRIGGERS)
    return (
        runs.filter(as_of__gte=backtest.start, as_of__lte=backtest.end)
        .exclude(status__in=UNFINISHED)
        .order_by("as_of", "id")
    )


def _source_window(
    strategy: Strategy | None,
    start: datetime | None,
    end: datetime | None,
    source_variant: BacktestVariant | None,
) -> tuple[Strategy, datetime, datetime]:
    """The replayed strategy and window: a backtest variant's (its backtest's strategy, and
    its window unless narrowed by ``start``/``end``), else ``strategy`` over [start, end].
    Raises BacktestError for a source backtest of another strategy, a missing, naive or
    reversed window."""
    if source_variant is not None:
        source = source_variant.backtest
        if strategy is not None and strategy.pk != source.strategy_id:
            raise BacktestError(f"backtest {source.pk} is not a backtest of {strategy.slug}")
        strategy, start, end = source.strategy, start or source.start, end or source.end
    elif strategy is None or start is None or end is None:
        raise BacktestError("a replay needs a strategy and a window, or a source backtest")
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise BacktestError("start and end must be timezone-aware")
    if end < start:
        raise BacktestError("end is before start")
    return strategy, start, end


def replay_endpoint(strategy: Strategy, ref: str) -> LlmEndpoint:
    """The LLM endpoint named ``ref`` (or with id ``ref``, digits) that ``strategy``'s owner
    may use (``apps.analysis.endpoints.llm_endpoints_usable``: the operator's, or the owner's
    own); the lowest id when several match. Raises BacktestError when there is none (another
    user's endpoint reads as unknown)."""
    ref = ref.strip()
    match = Q(name=ref)
    if ref.isdigit() and len(ref) < 19:  # an id; one too large for a bigint is no endpoint's
        match |= Q(pk=int(ref))
    found = llm_endpoints_usable(user=strategy.owner).filter(match).order_by("pk").first()
    if found is None:
        raise BacktestError(f"no LLM endpoint {ref!r} usable by the strategy's owner")
    return found  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay would do, before it is created: the replayed ``strategy`` and window
    (``start``, ``end``: tz-aware UTC), the number of ``sources`` (source runs), of
    ``variants`` (the original included) and the ``estimate_usd`` of its LLM calls (USD, no
    cache hit counted; the original costs 0)."""

    strategy: Strategy
    start: datetime
    end: datetime
    sources: int
    variants: int
    estimate_usd: Decimal


def replay_plan(
    *,
    strategy: Strategy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    variants: Sequence[ReplaySpec] = (),
    source_variant: BacktestVariant | None = None,
) -> ReplayPlan:
    """The ``ReplayPlan`` of the replay ``replay_create`` would make with these arguments;
    nothing is written. Each variant's estimate is ``llm_cost_estimate`` of an unsaved copy of
    the strategy with its model, prompt version, analyst and endpoint × the source runs.

    Raises BacktestError as ``replay_create`` does (window, source backtest of another
    strategy) and for an endpoint the strategy's owner may not use."""
    strategy, start, end = _source_window(strategy, start, end, source_variant)
    draft = Backtest(
        strategy=strategy,
        kind=BacktestKind.REPLAY,
        source_variant=source_variant,
        start=start,
        end=end,
    )
    sources = replay_sources(draft).count()
    estimate = Decimal(0)
    for spec in variants:
        copy = _variant_strategy(
            strategy,
            VariantSpec(
                label=spec.label,
                llm_model=spec.llm_model,
                prompt_template_id=spec.prompt_template_id,
                analyst=spec.analyst,
            ),
        )
        if spec.llm_endpoint_id is not None:
            copy.llm_endpoint = _usable_endpoint(strategy, spec.llm_endpoint_id)
        estimate += llm_cost_estimate(strategy=copy, slots=sources)
    return ReplayPlan(
        strategy=strategy,
        start=start,
        end=end,
        sources=sources,
        variants=1 + len(variants),
        estimate_usd=estimate,
    )


def _usable_endpoint(strategy: Strategy, endpoint_id: int) -> LlmEndpoint:
    """Endpoint ``endpoint_id`` when ``strategy``'s owner may use it; else BacktestError."""
    endpoint = LlmEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or not llm_endpoint_usable_by(
        endpoint=endpoint, owner_id=strategy.owner_id
    ):
        raise BacktestError(f"no LLM endpoint {endpoint_id} usable by the strategy's owner")
    return endpoint


def replay_create(
    *,
    strategy: Strategy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    variants: Sequence[ReplaySpec] = (),
    source_variant: BacktestVariant | None = None,
    created_by: User | None = None,
    llm_cache: str = LlmCacheMode.OFF,
) -> Backtest:
    """A pending replay (module docstring) of ``strategy``'s live runs with an as-of in
    [``start``, ``end``] (tz-aware UTC), or of ``source_variant``'s runs (its backtest's window
    unless ``start``/``end`` narrow it). Variant 1 is ``original`` (the source strategy's
    settings, recorded answers); one more variant per spec, each with its own paper account
    and hidden strategy copy. ``llm_cache`` (off/use/only/refresh) is the answer cache mode of
    the other variants' runs; ``slots_total`` counts the source runs.

    Raises BacktestError for a missing, naive or reversed window, a source backtest of another
    strategy, an unknown cache mode or an LLM endpoint the strategy's owner may not use;
    ValidationError for a prompt version the owner may not use."""
    strategy, start, end = _source_window(strategy, start, end, source_variant)
    modes = [m for m in LlmCacheMode.values if m != LlmCacheMode.RECORDED]
    if llm_cache not in modes:
        raise BacktestError(f"llm_cache must be one of {modes}, not {llm_cache!r}")
    specs = [ReplaySpec(label=ORIGINAL), *variants]
    with transaction.atomic():
        backtest = Backtest.objects.create(
            strategy=strategy,
            kind=BacktestKind.REPLAY,
            source_variant=source_variant,
            created_by=created_by,
            start=start,
            end=end,
            llm_cache=llm_cache,
        )
        total = replay_sources(backtest).count()
        for n, spec in enumerate(specs, start=1):
            base = VariantSpec(
                label=spec.label,
                llm_model=spec.llm_model,
                prompt_template_id=spec.prompt_template_id,
                analyst=spec.analyst,
            )
            account = _variant_account(strategy, backtest, base)
            clone = _clone(strategy, backtest, n, base, account)
            if spec.llm_endpoint_id is not None:
                clone.llm_endpoint = _usable_endpoint(strategy, spec.llm_endpoint_id)
                clone.save(update_fields=["llm_endpoint"])
            BacktestVariant.objects.create(
                backtest=backtest,
                position=n,
                label=spec.label,
                llm_model=spec.llm_model,
                prompt_template_id=spec.prompt_template_id,
                analyst=spec.analyst,
                recorded_answers=n == 1,
                account=account,
                clone=clone,
                slots_total=total,
            )
    return backtest


def replay_cost_estimate(backtest: Backtest) -> Decimal:
    """Estimated LLM cost (USD) of the source runs ``backtest``'s (a replay) variants have not
    replayed yet, before any cache hit: each copy's ``llm_cost_estimate`` × its remaining source
    runs; the original variant costs 0 (recorded answers)."""
    return sum(
        (
            llm_cost_estimate(strategy=v.clone, slots=max(0, v.slots_total - v.slots_done))
            for v in backtest.variants.select_related("clone__prompt_template")
            if not v.recorded_answers
        ),
        Decimal(0),
    )


def _replay_run_create(variant: BacktestVariant, source: Run, llm_cache: str) -> Run:
    """The pending replay run of ``source`` by ``variant``'s copy: trigger ``replay``, the
    source's as-of, ``recorded`` answers for the original variant, else ``llm_cache``.
    IntegrityError when the copy already replays ``source``."""
    return run_create(
        strategy_id=variant.clone_id,
        trigger=RunTrigger.REPLAY,
        as_of=source.as_of,
        llm_cache=LlmCacheMode.RECORDED if variant.recorded_answers else llm_cache,
        replay_of_id=source.pk,
    )


def replay_variant_run(
    backtest: Backtest,
    variant: BacktestVariant,
    budget: list[int | None],
    progress: Progress | None,
    *,
    deadline: float | None,
) -> str:
    """Replay the variant's remaining source runs in as-of order (module docstring); returns a
    ``VariantOutcome`` with the meanings of a backtest variant's (``apps.evaluation.services.
    backtest_variant_run``): ``cancelled`` before a source run when the replay was cancelled,
    ``paused`` at ``deadline`` (``time.monotonic()`` seconds), ``taken`` when another worker
    replays the next source run, ``done`` with the account advanced to ``end``. ``budget[0]``
    new runs at most (None: no limit; raises the runner's stop when spent)."""
    sources = list(replay_sources(backtest))
    existing: dict[object, int] = dict(
        Run.objects.filter(strategy_id=variant.clone_id, replay_of__isnull=False).values_list(
            "replay_of_id", "pk"
        )
    )
    steps = [
        WalkStep(
            key=source.pk,
            as_of=source.as_of,
            create=partial(_replay_run_create, variant, source, backtest.llm_cache),
            skip_reason=partial(_skip_reason, source.pk),
        )
        for source in sources
    ]
    return variant_walk(backtest, variant, steps, existing, budget, progress, deadline=deadline)


def _skip_reason(source_id: int) -> str:
    """Why source run ``source_id`` is not replayed ("not replayed: …";
    ``replay_skip_reason``), or ""."""
    reason = replay_skip_reason(source_id)
    return f"not replayed: {reason}" if reason else ""
