"""Strategy services: apply a strategies file (create or update by slug, idempotent)."""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from pydantic import ValidationError

from apps.analysis.endpoints import llm_endpoints_usable
from apps.analysis.models import LlmEndpoint, PromptTemplate
from apps.analysis.services import (
    PromptTemplateNotFoundError,
    prompt_template_resolve,
    prompt_template_save,
)
from apps.common.errors import SibylError
from apps.strategies.definitions import StrategiesFile, StrategyDefinition, SymbolDefinition
from apps.strategies.lifecycle import (
    LiveTradingNotAllowedError,
    StrategyInvalidError,
    StrategyLimitError,
    strategy_update,
)
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account
from apps.trading.selectors import accounts_of
from apps.trading.services import DEFAULT_PAPER_ACCOUNT_NAME, account_default_for


class StrategiesFileError(SibylError):
    """The strategies file is not YAML, does not match the format, or names unknown things."""


@dataclass
class ApplyReport:
    """Slugs and names created, updated or unchanged by one apply."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def strategies_file_load(*, path: Path) -> StrategiesFile:
    """Parse and validate a strategies file; raises StrategiesFileError listing every problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise StrategiesFileError(f"cannot read {path}: {error}") from error
    try:
        return StrategiesFile.model_validate(raw or {})
    except ValidationError as error:
        problems = "\n".join(
            f"  {'.'.join(str(p) for p in item['loc']) or '(file)'}: {item['msg']}"
            for item in error.errors()
        )
        raise StrategiesFileError(f"{path} is not a valid strategies file:\n{problems}") from error


def _django_problems(label: str, error: DjangoValidationError) -> list[str]:
    return [
        f"{label}: {field}: {message}"
        for field, messages in error.message_dict.items()
        for message in messages
    ]


def symbol_upsert(*, definition: SymbolDefinition) -> Symbol:
    """Create or update a Symbol identified by symbol, sec_type and currency.

    Raises StrategiesFileError when a value does not fit the Symbol model (length, digits,
    a ``conid`` already taken).
    """
    identity = {
        "symbol": definition.symbol,
        "sec_type": definition.sec_type,
        "currency": definition.currency,
    }
    symbol = Symbol.objects.filter(**identity).first() or Symbol(**identity)
    for key, value in definition.model_dump(exclude=set(identity)).items():
        setattr(symbol, key, value)
    try:
        symbol.full_clean()
    except DjangoValidationError as error:
        label = f"symbol {definition.symbol} {definition.sec_type} {definition.currency}"
        raise StrategiesFileError("\n".join(_django_problems(label, error))) from error
    symbol.save()
    return symbol


def llm_endpoint_named(*, name: str, owner: User | None, slug: str) -> LlmEndpoint | None:
    """The LLM endpoint a strategies file names for strategy ``slug``: among the operator's
    endpoints and ``owner``'s own (``owner`` None: the operator's only), the owner's first.
    "" means none (the operator's default endpoint, LLM_BASE_URL).

    Raises StrategiesFileError for a name that is not one of those (another user's endpoint
    is reported as unknown, as a name that does not exist).
    """
    if not name:
        return None
    candidates = llm_endpoints_usable(user=owner).filter(name=name)
    endpoint = (
        candidates.order_by("owner_id").first()  # PostgreSQL: the owner's own before NULLs
        if owner is not None
        else candidates.first()
    )
    if endpoint is None:
        raise StrategiesFileError(
            f"strategy {slug}: unknown LLM endpoint {name!r} (endpoints are added by staff, "
            "or by their owner, in the admin or at /api/v1/llm-endpoints/)"
        )
    return endpoint


def account_named(*, name: str, owner: User | None, slug: str) -> Account:
    """The trading account called ``name`` among those ``owner`` owns or is a member of
    (``owner`` None: the operator's, ownerless accounts), for strategy ``slug``. The name of
    the owner's default paper account (``Paper`` for the operator, ``<username> paper`` for a
    user) finds it even before it exists (``account_default_for`` creates it).

    Raises StrategiesFileError naming the account when there is none of that name among them
    (another user's account is unknown, as one that does not exist) or several."""
    found = list(accounts_of(user_id=owner.pk if owner else None).filter(name=name)[:2])
    default_name = DEFAULT_PAPER_ACCOUNT_NAME if owner is None else f"{owner.get_username()} paper"
    if not found and name == default_name:  # the default paper account, not created yet
        found = [account_default_for(owner=owner)]
    whose = f"{owner.get_username()}'s" if owner is not None else "the operator's"
    if not found:
        raise StrategiesFileError(
            f"strategy {slug}: no trading account named {name!r} among {whose} accounts and "
            "those they are a member of (see /api/v1/accounts/)"
        )
    if len(found) > 1:
        raise StrategiesFileError(
            f"strategy {slug}: several trading accounts named {name!r} among {whose} "
            "accounts; rename one"
        )
    return found[0]


def _strategy_values(definition: StrategyDefinition, owner: User | None) -> dict[str, object]:
    try:
        symbol = Symbol.objects.get(
            symbol=definition.symbol, sec_type=definition.sec_type, currency=definition.currency
        )
    except Symbol.DoesNotExist as error:
        raise StrategiesFileError(
            f"strategy {definition.slug}: unknown symbol {definition.symbol} "
            f"{definition.sec_type} {definition.currency}; declare it under 'symbols'"
        ) from error
    template = prompt_template_latest(definition.prompt_template, definition.slug, owner)
    risk, llm = definition.risk, definition.llm
    chosen: dict[str, object] = {}
    if definition.account is not None:
        chosen["account"] = account_named(
            name=definition.account, owner=owner, slug=definition.slug
        )
    return {
        **chosen,
        "name": definition.name,
        "symbol": symbol,
        "bar_size": definition.bar_size,
        "lookback": definition.lookback,
        "indicators": definition.indicators,
        "prompt_template": template,
        "analyst": llm.analyst,
        "llm_model": llm.model,
        "llm_temperature": llm.temperature,
        "llm_max_tokens": llm.max_tokens,
        "llm_endpoint": llm_endpoint_named(name=llm.endpoint, owner=owner, slug=definition.slug),
        "llm_timeout_s": llm.timeout_s,
        "llm_accepts_images": llm.accepts_images,
        "llm_response_format": llm.response_format,
        "llm_fallback_model": llm.fallback_model,
        "llm_budget_daily_usd": llm.budget_daily_usd,
        "llm_budget_monthly_usd": llm.budget_monthly_usd,
        "schedule_cron": definition.schedule.cron,
        "schedule_timezone": definition.schedule.timezone,
        "catch_up": definition.schedule.catch_up,
        "skip_closed_market": definition.schedule.skip_closed_market,
        "is_active": definition.active,
        **risk.model_dump(),
        "order_type": definition.order.type,
        "time_in_force": definition.order.time_in_force,
        **definition.positions.model_dump(),
        **definition.limits.model_dump(),
        "trading_mode": definition.mode,
    }


def prompt_template_latest(reference: str, slug: str, owner: User | None) -> PromptTemplate:
    """Resolve ``name`` (latest version) or ``name@N`` (that version) for strategy ``slug``
    owned by ``owner``: among the owner's templates (None: the operator's), else the published
    ones (``apps.analysis.services.prompt_template_resolve``). Another user's unpublished
    template is unknown. Raises StrategiesFileError."""
    _, at, version = reference.partition("@")
    if at and not (version.isascii() and version.isdigit()):
        raise StrategiesFileError(
            f"strategy {slug}: prompt template {reference!r}: expected name or name@VERSION"
        )
    try:
        return prompt_template_resolve(reference=reference, owner=owner)
    except PromptTemplateNotFoundError as error:
        raise StrategiesFileError(
            f"strategy {slug}: unknown prompt template {reference!r} ({error})"
        ) from error


def _strategy_upsert(
    definition: StrategyDefinition, owner: User | None, report: ApplyReport
) -> None:
    strategy = Strategy.objects.filter(slug=definition.slug).first()
    if owner is None and strategy is not None:
        owner = strategy.owner  # kept; its templates are the ones the file's names resolve to
    values = _strategy_values(definition, owner)
    if owner is not None:
        values["owner"] = owner
    if (
        "account" not in values
        and strategy is not None
        and not accounts_of(user_id=owner.pk if owner else None)
        .filter(pk=strategy.account_id)
        .exists()
    ):
        # Handed to an owner who may not trade its account: it moves to their default one.
        values["account"] = account_default_for(owner=owner)
    if strategy is None:
        strategy = Strategy(slug=definition.slug)
        report.created.append(definition.slug)
    elif any(getattr(strategy, key) != value for key, value in values.items()):
        report.updated.append(definition.slug)
    else:
        report.unchanged.append(definition.slug)
        return
    label = f"strategy {definition.slug}"
    try:
        # Whoever runs the command is the operator (actor None); the owner is the one who
        # trades. A changed schedule's next slot is left to the next dispatch.
        strategy_update(strategy=strategy, actor=None, values=values, schedule_now=False)
    except StrategyInvalidError as error:
        raise StrategiesFileError(
            "\n".join(
                f"{label}: {field}: {message}"
                for field, messages in error.problems.items()
                for message in messages
            )
        ) from error
    except LiveTradingNotAllowedError as error:
        raise StrategiesFileError(
            f"{label}: {error} (apply with --owner USERNAME of a user holding it)"
        ) from error
    except StrategyLimitError as error:  # counts the file's strategies saved so far
        raise StrategiesFileError(f"{label}: {error}") from error


def strategies_apply(*, path: Path, owner: User | None = None) -> ApplyReport:
    """Apply a strategies file in one transaction: all of it or nothing.

    Symbols are upserted, changed template bodies saved as new versions, strategies created or
    updated by slug. With ``owner``, every strategy and template of the file belongs to that
    user; without, new strategies and the templates have no owner (the operator's: only staff
    see them) and existing strategies keep theirs. A strategy's ``prompt_template`` name
    resolves among its owner's templates, else the published ones (``prompt_template_latest``);
    template versions saved here have no author (a management command saved them).
    A live strategy (``mode: live``) needs an owner holding ``strategies.trade_live``
    (``apps.strategies.live_trading``), and an active strategy of a non-staff owner must keep
    within the owner's limits (``apps.strategies.limits``). Raises StrategiesFileError with
    every problem found; then nothing is saved.
    """
    document = strategies_file_load(path=path)
    report = ApplyReport()
    problems: list[str] = []
    with transaction.atomic():
        for symbol in document.symbols:
            try:
                symbol_upsert(definition=symbol)
            except StrategiesFileError as error:
                problems.append(str(error))
        for template in document.prompt_templates:
            prompt_template_save(owner=owner, name=template.name, body=template.body)
        for definition in document.strategies:
            try:
                _strategy_upsert(definition, owner, report)
            except StrategiesFileError as error:
                problems.append(str(error))
        if problems:
            # Raising inside the atomic block rolls back everything saved above.
            raise StrategiesFileError(
                f"{path} cannot be applied, nothing saved:\n"
                + "\n".join(f"  {line}" for problem in problems for line in problem.splitlines())
            )
    return report
