"""Strategy services for the REST API: create, update, (de)activate, delete, run now, slots.

Validation reuses the strategies-file rules (``apps.strategies.definitions.StrategyDefinition``:
slug pattern, bar size, TA-Lib indicator specs, cron, IANA time zone, model and risk bounds)
and then the model's own ``full_clean()``, so a strategy saved through the API could have been
written in a strategies file. Schedules are recomputed as the dispatcher does
(``apps.strategies.schedule``). Run now only creates the pending run: sending it to a worker
is the pipeline's (``apps.pipeline.tasks.enqueue_runs``), which the API view and the admin
action call.
"""

import copy
from datetime import datetime
from typing import Any

from croniter import CroniterBadDateError
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from pydantic import ValidationError

from apps.analysis.endpoints import llm_endpoint_model_problems, llm_endpoint_usable_by
from apps.common.errors import FieldProblemsError, SibylError
from apps.lineage.models import Run, RunTrigger
from apps.lineage.services import run_create
from apps.positions.selectors import strategy_has_open_positions
from apps.strategies.definitions import StrategyDefinition
from apps.strategies.limits import StrategyLimitError, strategy_limits_check
from apps.strategies.live_trading import LiveTradingNotAllowedError, live_trading_check
from apps.strategies.models import Strategy
from apps.strategies.schedule import SCHEDULE_FIELDS, next_slot_after, strategy_schedule_refresh
from apps.trading.selectors import accounts_of
from apps.trading.services import account_default_for

# Model field -> where it sits in a StrategyDefinition (the strategies-file format).
DEFINITION_PATHS: dict[str, tuple[str, ...]] = {
    "slug": ("slug",),
    "name": ("name",),
    "bar_size": ("bar_size",),
    "lookback": ("lookback",),
    "indicators": ("indicators",),
    "analyst": ("llm", "analyst"),
    "llm_model": ("llm", "model"),
    "llm_temperature": ("llm", "temperature"),
    "llm_max_tokens": ("llm", "max_tokens"),
    "llm_timeout_s": ("llm", "timeout_s"),
    "llm_accepts_images": ("llm", "accepts_images"),
    "llm_response_format": ("llm", "response_format"),
    "llm_fallback_model": ("llm", "fallback_model"),
    "llm_budget_daily_usd": ("llm", "budget_daily_usd"),
    "llm_budget_monthly_usd": ("llm", "budget_monthly_usd"),
    "schedule_cron": ("schedule", "cron"),
    "schedule_timezone": ("schedule", "timezone"),
    "catch_up": ("schedule", "catch_up"),
    "skip_closed_market": ("schedule", "skip_closed_market"),
    "capital": ("risk", "capital"),
    "risk_per_trade_pct": ("risk", "risk_per_trade_pct"),
    "max_position_quantity": ("risk", "max_position_quantity"),
    "max_order_notional": ("risk", "max_order_notional"),
    "min_confidence": ("risk", "min_confidence"),
    "min_reward_risk": ("risk", "min_reward_risk"),
    "max_entry_deviation_pct": ("risk", "max_entry_deviation_pct"),
    "order_type": ("order", "type"),
    "time_in_force": ("order", "time_in_force"),
    "opposite_signal": ("positions", "opposite_signal"),
    "close_order_type": ("positions", "close_order_type"),
    "scale_in": ("positions", "scale_in"),
    "max_scale_ins": ("positions", "max_scale_ins"),
    "scale_in_exits": ("positions", "scale_in_exits"),
    "trail_stop": ("positions", "trail_stop"),
    "close_before_session_end_min": ("positions", "close_before_session_end_min"),
    "daily_loss_limit": ("limits", "daily_loss_limit"),
    "max_drawdown_pct": ("limits", "max_drawdown_pct"),
    "max_failed_runs": ("limits", "max_failed_runs"),
    "trading_mode": ("mode",),
    "is_active": ("active",),
}
FIELD_AT_PATH = {path: field for field, path in DEFINITION_PATHS.items()}
FIELD_AT_PATH[("llm", "endpoint")] = "llm_endpoint"
UNKNOWN_ENDPOINT = "unknown LLM endpoint"
NO_SESSION_END = (
    "needs a symbol with a trading_calendar (an exchange calendar such as XNYS): without one "
    "the symbol's session never ends, so nothing would ever be closed"
)
MAX_NEXT_SLOTS = 50


class StrategyInvalidError(FieldProblemsError):
    """A strategy's configuration breaks a rule; ``problems`` maps field names to messages."""


class StrategyHasRunsError(SibylError):
    """A strategy with runs (and their lineage) cannot be deleted; deactivate it instead. The
    API answers 409."""

    http_status = 409


def _definition_data(strategy: Strategy) -> dict[str, Any]:
    """The strategy as a strategies-file entry (symbol and template are known rows)."""
    data: dict[str, Any] = {
        "symbol": strategy.symbol.symbol,
        "sec_type": strategy.symbol.sec_type,
        "currency": strategy.symbol.currency,
        "prompt_template": f"{strategy.prompt_template.name}@{strategy.prompt_template.version}",
    }
    for field, path in DEFINITION_PATHS.items():
        node = data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = getattr(strategy, field)
    data["llm"]["endpoint"] = strategy.llm_endpoint.name if strategy.llm_endpoint else ""
    return data


def _endpoint_problems(strategy: Strategy) -> dict[str, list[str]]:
    """The strategy's LLM endpoint must be usable by its owner (an operator endpoint or the
    owner's own; any other is "unknown", as one that does not exist) and, when it lists the
    models it offers, offer the strategy's model (``LLM_MODEL`` when blank) and fallback."""
    endpoint = strategy.llm_endpoint
    if endpoint is None:
        return {}
    if not llm_endpoint_usable_by(endpoint=endpoint, owner_id=strategy.owner_id):
        return {"llm_endpoint": [UNKNOWN_ENDPOINT]}
    return llm_endpoint_model_problems(
        endpoint=endpoint, model=strategy.llm_model, fallback_model=strategy.llm_fallback_model
    )


def _message(text: str) -> str:
    return text.removeprefix("Value error, ")


def strategy_problems(*, strategy: Strategy) -> dict[str, list[str]]:
    """Check an (unsaved or changed) strategy against the strategies-file rules.

    Input: a Strategy whose ``symbol`` and ``prompt_template`` are set. Output: model field
    name -> messages (empty when valid). Rules (``StrategyDefinition``): slug ``[-a-z0-9_]``,
    a known bar size, lookback 10–5000, TA-Lib indicator specs (``parse_indicator_specs``), a
    valid cron expression, an IANA time zone, temperature 0–2, max tokens 16–32000, timeout
    0–600 s, positive money and quantities,
    percentages 0–100 and confidence 0–1; the cron expression must have an upcoming slot.
    The LLM endpoint must be one the owner may use and offer the model (``_endpoint_problems``).
    ``close_before_session_end_min`` (1–240) needs a symbol with a trading calendar (the
    end-of-day close reads the session end from it).
    """
    problems: dict[str, list[str]] = {}
    try:
        StrategyDefinition.model_validate(_definition_data(strategy))
    except ValidationError as error:
        for item in error.errors():
            location = tuple(str(part) for part in item["loc"])
            field = next(
                (FIELD_AT_PATH[location[:n]] for n in (2, 1) if location[:n] in FIELD_AT_PATH),
                "non_field_errors",
            )
            problems.setdefault(field, []).append(_message(item["msg"]))
        return problems
    problems = {**_endpoint_problems(strategy)}
    if strategy.close_before_session_end_min is not None and not strategy.symbol.trading_calendar:
        problems.setdefault("close_before_session_end_min", []).append(NO_SESSION_END)
    return problems


def _validated(strategy: Strategy) -> Strategy:
    problems = strategy_problems(strategy=strategy)
    if problems:
        raise StrategyInvalidError(problems)
    try:
        strategy.full_clean()
    except DjangoValidationError as error:
        raise StrategyInvalidError(error.message_dict) from error
    return strategy


def strategy_rules_check(
    *, strategy: Strategy, actor: User | None, model_rules: bool = True
) -> None:
    """Check an (unsaved or changed) ``strategy`` against every rule a save obeys, in order:
    the strategies-file rules (``strategy_problems``), the model's own (``full_clean``, unless
    ``model_rules`` is False: a model form runs those itself), the live-trading permission of
    ``actor`` (None: the operator, so only the owner's is checked) and the owner's limits.

    Raises StrategyInvalidError (with per-field ``problems``), LiveTradingNotAllowedError or
    StrategyLimitError; returns None when the strategy may be saved.
    """
    if model_rules:
        _validated(strategy)
    else:
        problems = strategy_problems(strategy=strategy)
        if problems:
            raise StrategyInvalidError(problems)
    live_trading_check(strategy=strategy, actor=actor)
    strategy_limits_check(strategy=strategy)


def _schedule_changed(strategy: Strategy) -> bool:
    """Whether the cron, time zone or active flag differ from the stored row (True when new)."""
    stored = Strategy.objects.filter(pk=strategy.pk).values(*SCHEDULE_FIELDS).first()
    if strategy.pk is None or stored is None:
        return True
    return any(stored[field] != getattr(strategy, field) for field in SCHEDULE_FIELDS)


def _needs_default_account(strategy: Strategy, values: dict[str, Any]) -> bool:
    """A strategy without an account trades its owner's default paper account; so does one
    whose owner changed to a user who may not trade its account, when no account was given
    and it holds no open position there (a strategy with open positions keeps its account,
    and the save fails on ``account``)."""
    if strategy.account_id is None:
        return True
    if "account" in values or "account_id" in values:
        return False
    if accounts_of(user_id=strategy.owner_id).filter(pk=strategy.account_id).exists():
        return False
    return strategy.pk is None or not strategy_has_open_positions(strategy_id=strategy.pk)


def strategy_create(
    *, owner: User | None, values: dict[str, Any], now: datetime | None = None
) -> Strategy:
    """Create a strategy owned by ``owner`` (who is also the actor) from model field
    ``values`` (model defaults for the rest) through ``strategy_update``: ``next_run_at`` is the
    next slot after ``now`` (default: the current time) when active, else None.

    Raises StrategyInvalidError (with per-field ``problems``) when a rule is broken,
    LiveTradingNotAllowedError for a live strategy when ``owner`` lacks ``strategies.trade_live``,
    and StrategyLimitError when an active strategy breaks ``owner``'s limits
    (``apps.strategies.limits``).
    """
    return strategy_update(strategy=Strategy(owner=owner), actor=owner, values=values, now=now)


def strategy_update(
    *,
    strategy: Strategy,
    actor: User | None,
    values: dict[str, Any],
    now: datetime | None = None,
    schedule_now: bool = True,
) -> Strategy:
    """Save ``strategy`` (a new one, or a stored one possibly already changed in memory, as a
    model form leaves it) with the model fields ``values`` set, on behalf of ``actor`` (None:
    the operator, e.g. a strategies file) — the one save path of the API, the admin and the
    strategies file, all checked by ``strategy_rules_check``.

    When the strategy is new, or its schedule (cron, time zone or active flag) differs from the
    stored row, ``next_run_at`` is cleared and, with ``schedule_now``, recomputed at once from
    ``now`` (default: the current time) for this strategy only
    (``apps.strategies.schedule.strategy_schedule_refresh``); without it the next dispatch does.

    Raises StrategyInvalidError (with per-field ``problems``) when a rule is broken,
    LiveTradingNotAllowedError when the result is live and ``actor`` or the owner lacks
    ``strategies.trade_live`` (switching a live strategy to paper is always allowed), and
    StrategyLimitError when the result is active and breaks the owner's limits
    (``apps.strategies.limits``); then a stored ``strategy`` is reloaded with its stored values
    and nothing is saved.
    """
    with transaction.atomic():
        for field, value in values.items():
            setattr(strategy, field, value)
        if _needs_default_account(strategy, values):
            strategy.account = account_default_for(owner=strategy.owner)
        try:
            strategy_rules_check(strategy=strategy, actor=actor)
        except (StrategyInvalidError, LiveTradingNotAllowedError, StrategyLimitError):
            if strategy.pk is not None:
                strategy.refresh_from_db()  # the caller's object must not show refused values
            raise
        if _schedule_changed(strategy):
            strategy.next_run_at = None
        strategy.save()
        if schedule_now:
            strategy_schedule_refresh(strategy=strategy, now=now)
    return strategy


def _active_set(strategy: Strategy, active: bool, now: datetime | None) -> Strategy:
    with transaction.atomic():
        if strategy.is_active != active:
            strategy.is_active = active
            strategy.next_run_at = None
            strategy.save(update_fields=["is_active", "next_run_at", "updated_at"])
        strategy_schedule_refresh(strategy=strategy, now=now)
    return strategy


def strategy_activate(*, strategy: Strategy, actor: User, now: datetime | None = None) -> Strategy:
    """Activate ``strategy`` on behalf of ``actor`` (idempotent); its ``next_run_at`` becomes
    the next slot after ``now`` (default: the current time).

    Raises LiveTradingNotAllowedError for a live strategy when ``actor`` or the owner lacks
    ``strategies.trade_live``, and StrategyLimitError when, active, it would break its owner's
    limits (``apps.strategies.limits``); then it stays as it was.
    """
    live_trading_check(strategy=strategy, actor=actor)
    with transaction.atomic():
        candidate = copy.copy(strategy)  # the strategy as it would be once active
        candidate.is_active = True
        strategy_limits_check(strategy=candidate)
        return _active_set(strategy, True, now)


def strategy_deactivate(*, strategy: Strategy) -> Strategy:
    """Deactivate ``strategy`` (idempotent): the dispatcher no longer runs it and its
    ``next_run_at`` is cleared."""
    return _active_set(strategy, False, None)


def strategy_delete(*, strategy: Strategy) -> None:
    """Delete a strategy that never ran.

    Raises StrategyHasRunsError when it has runs: their lineage (``Run.strategy`` is
    PROTECT) must stay, so such a strategy can only be deactivated.
    """
    message = f"strategy {strategy.slug} has runs; deactivate it instead"
    if strategy.runs.exists():
        raise StrategyHasRunsError(message)
    try:
        strategy.delete()
    except ProtectedError as error:  # a run created since the check above
        raise StrategyHasRunsError(message) from error


def strategy_run_create(*, strategy: Strategy, actor: User, as_of: datetime | None = None) -> Run:
    """Create a pending manual run of ``strategy``, asked for by ``actor``, as of ``as_of``
    (tz-aware; default: now). The caller sends it to the ``runs`` queue
    (``apps.pipeline.tasks.enqueue_runs``), as ``manage.py run_strategy --async`` does.

    Raises ValueError for a naive ``as_of``, and LiveTradingNotAllowedError for a live strategy
    when ``actor`` or the owner lacks ``strategies.trade_live`` (then no run is created).
    """
    live_trading_check(strategy=strategy, actor=actor)
    return run_create(
        strategy_id=strategy.pk, trigger=RunTrigger.MANUAL, as_of=as_of or timezone.now()
    )


def strategy_next_slots(
    *, strategy: Strategy, count: int, now: datetime | None = None
) -> list[datetime]:
    """The next ``count`` (1–50) schedule slots of ``strategy`` strictly after ``now``
    (default: the current time), in UTC, whether or not the strategy is active. Fewer when
    the expression stops firing (croniter finds no later date), e.g. none for ``0 0 31 2 *``.

    Raises ValueError for a count outside 1–50.
    """
    if not 1 <= count <= MAX_NEXT_SLOTS:
        raise ValueError(f"count must be 1–{MAX_NEXT_SLOTS}, got {count}")
    moment = now or timezone.now()
    slots: list[datetime] = []
    for _ in range(count):
        try:
            moment = next_slot_after(strategy.schedule_cron, strategy.schedule_timezone, moment)
        except CroniterBadDateError:
            break
        slots.append(moment)
    return slots
