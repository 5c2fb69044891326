"""What a backtest or replay request must name to be run: a strategy (or, for a replay, a
backtest) of the caller's, prompt versions and LLM endpoints its owner may use, models the
endpoint offers or prices, a window with schedule slots (a replay: with source runs).

Each check raises DRF's ``ValidationError`` keyed by the request's field (``strategy``,
``source_backtest``, ``source_position``, ``variants`` as a list with one dict per variant,
``end``), answered as a 400.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.analysis.models import LlmEndpoint
from apps.analysis.selectors import prompt_templates_usable
from apps.common.api import owned_by
from apps.evaluation.models import Backtest, BacktestVariant
from apps.evaluation.replay import ReplayPlan, ReplaySpec, replay_endpoint
from apps.evaluation.services import BacktestError, VariantSpec, backtest_slots
from apps.strategies.models import Strategy

NO_STRATEGY = "No such strategy, or not one of yours."
NO_BACKTEST = "No such backtest, or not one of yours."


def strategies_for(request: Request) -> QuerySet[Strategy]:
    """The strategies the caller may backtest: their own (staff: every one), never a
    backtest's hidden copy — the strategies API's scope."""
    strategies = Strategy.objects.filter(backtest_of__isnull=True).select_related(
        "symbol", "prompt_template", "llm_endpoint", "account"
    )
    return owned_by(strategies, request, "owner")


def strategy_for(request: Request, ref: str) -> Strategy:
    """The strategy ``ref`` (an id or a slug) among ``strategies_for``; ValidationError on
    ``strategy`` when there is none (another user's strategy reads as unknown)."""
    ref = ref.strip()
    strategies = strategies_for(request)
    if ref.isdigit():  # an id; one too large for a bigint is no strategy's
        found = strategies.filter(pk=int(ref)) if len(ref) < 19 else strategies.none()
    else:
        found = strategies.filter(slug=ref)
    strategy = found.first()
    if strategy is None:
        raise ValidationError({"strategy": [NO_STRATEGY]})
    return strategy


def model_problem(
    strategy: Strategy, model: str, *, endpoint: LlmEndpoint | None = None
) -> str | None:
    """Why ``model`` cannot be a variant's model of ``strategy`` on ``endpoint`` (None: the
    strategy's own endpoint); returns None when it can.

    When the LLM endpoint lists the models it offers, the model must be one of
    them (``LlmEndpoint.offered_models``). Otherwise it must be priced (the endpoint's
    ``prices``, else ``LLM_PRICES``; a ``vendor/`` prefix is ignored, as ``cost_usd`` looks
    prices up) or be the strategy's own or the default model (``LLM_MODEL``): an unpriced
    unknown id would make the cost estimate a silent 0."""
    endpoint = endpoint or strategy.llm_endpoint
    offered = list(endpoint.offered_models or []) if endpoint is not None else []
    if offered:
        if model in offered:
            return None
        return f"LLM endpoint {endpoint.name!r} does not offer {model!r}; it offers: " + ", ".join(  # type: ignore[union-attr]
            offered
        )
    prices = (endpoint.prices if endpoint is not None else None) or settings.LLM_PRICES
    known = {*prices, settings.LLM_MODEL, strategy.llm_model}
    if model in known or model.split("/")[-1] in known:
        return None
    return f"Unknown model {model!r}: known models are " + ", ".join(sorted(filter(None, known)))


def _variant_row(
    strategy: Strategy,
    row: dict[str, Any],
    n: int,
    *,
    endpoint: LlmEndpoint | None = None,
    endpoint_ref: str = "",
) -> tuple[VariantSpec, dict[str, list[str]]]:
    """Variant ``n``'s spec from its request row (label, llm_model, prompt_version, analyst)
    and its problems (field -> messages; empty when none). ``endpoint`` (a replay variant's
    own, else the strategy's) is the one whose models the model is checked against;
    ``endpoint_ref`` the name it was given by (in the default label)."""
    problems: dict[str, list[str]] = {}
    template_id = None
    name = strategy.prompt_template.name
    version = row.get("prompt_version")
    if version is not None:
        usable = prompt_templates_usable(owner_id=strategy.owner_id).filter(name=name)
        template_id = usable.filter(version=version).values_list("pk", flat=True).first()
        if template_id is None:
            problems["prompt_version"] = [f"No version {version} of prompt {name!r}."]
    model = (row.get("llm_model") or "").strip()
    if model and (problem := model_problem(strategy, model, endpoint=endpoint)):
        problems["llm_model"] = [problem]
    analyst = row.get("analyst") or ""
    changes = {
        "model": model,
        "prompt": f"v{version}" if version else "",
        "analyst": analyst,
        "endpoint": endpoint_ref,
    }
    label = (row.get("label") or "").strip() or (
        ",".join(f"{k}={v}" for k, v in changes.items() if v) or f"v{n}"
    )
    spec = VariantSpec(
        label=label[:128], llm_model=model, prompt_template_id=template_id, analyst=analyst
    )
    return spec, problems


def variant_specs(strategy: Strategy, rows: list[dict[str, Any]]) -> list[VariantSpec]:
    """``VariantSpec``s from the request's variant rows (label, llm_model, prompt_version,
    analyst). A prompt version is a version number of the strategy's prompt template name
    that the owner may use. A blank label becomes ``key=value,…`` of what the variant
    changes, or ``v<n>``. ValidationError on ``variants`` (one dict per row) otherwise."""
    checked = [_variant_row(strategy, row, n) for n, row in enumerate(rows, start=1)]
    if any(problems for _, problems in checked):
        raise ValidationError({"variants": [problems for _, problems in checked]})
    return [spec for spec, _ in checked]


def replay_variant_specs(strategy: Strategy, rows: list[dict[str, Any]]) -> list[ReplaySpec]:
    """``ReplaySpec``s from a replay request's variant rows: a backtest variant's fields
    (``variant_specs``) and ``endpoint``, the name or id of an LLM endpoint the strategy's
    owner may use (``replay_endpoint``; blank: the strategy's own), which the model must be
    offered or priced by. Rows are variants 2, 3, … (1 is the original). ValidationError on
    ``variants`` (one dict per row) otherwise."""
    specs: list[ReplaySpec] = []
    errors: list[dict[str, list[str]]] = []
    for n, row in enumerate(rows, start=2):
        ref = (row.get("endpoint") or "").strip()
        endpoint, endpoint_problem = None, ""
        if ref:
            try:
                endpoint = replay_endpoint(strategy, ref)
            except BacktestError:  # unknown, or another user's: the same message
                endpoint_problem = f"No LLM endpoint {ref!r} usable by the strategy's owner."
        spec, problems = _variant_row(strategy, row, n, endpoint=endpoint, endpoint_ref=ref)
        if endpoint_problem:
            problems["endpoint"] = [endpoint_problem]
        errors.append(problems)
        specs.append(
            ReplaySpec(
                label=spec.label,
                llm_model=spec.llm_model,
                prompt_template_id=spec.prompt_template_id,
                analyst=spec.analyst,
                llm_endpoint_id=endpoint.pk if endpoint is not None else None,
            )
        )
    if any(errors):
        raise ValidationError({"variants": errors})
    return specs


def source_variant_for(request: Request, backtest_id: int, position: int) -> BacktestVariant:
    """Variant ``position`` of backtest ``backtest_id`` when the caller may see the backtest
    (theirs; staff: any); ValidationError on ``source_backtest`` when they may not or it does
    not exist (another user's reads as unknown), on ``source_position`` when it has no such
    variant."""
    backtests = owned_by(Backtest.objects.all(), request, "strategy__owner")
    if not backtests.filter(pk=backtest_id).exists():
        raise ValidationError({"source_backtest": [NO_BACKTEST]})
    variant = (
        BacktestVariant.objects.select_related("backtest__strategy__symbol", "clone")
        .filter(backtest_id=backtest_id, position=position)
        .first()
    )
    if variant is None:
        raise ValidationError(
            {"source_position": [f"Backtest {backtest_id} has no variant {position}."]}
        )
    return variant


def replay_sources_check(plan: ReplayPlan, source: BacktestVariant | None) -> None:
    """ValidationError when ``plan`` has no source run (nothing to replay): on
    ``source_backtest`` for a backtest's runs, else on ``end``."""
    if plan.sources > 0:
        return
    if source is not None:
        message = (
            f"Variant {source.position} ({source.label}) of backtest {source.backtest_id} has "
            "no finished run in the window: nothing to replay."
        )
        raise ValidationError({"source_backtest": [message]})
    message = (
        f"{plan.strategy.slug!r} has no finished live run (schedule, manual or api) with an "
        "as-of in the window: nothing to replay."
    )
    raise ValidationError({"end": [message]})


def window_slots(strategy: Strategy, start: datetime, end: datetime) -> int:
    """The number of schedule slots of ``strategy`` in [``start``, ``end``]
    (``backtest_slots``); ValidationError on ``end`` when there is none."""
    slots = len(backtest_slots(strategy, start, end))
    if slots == 0:
        raise ValidationError(
            {
                "end": [
                    f"The window has no schedule slot of {strategy.slug!r} "
                    f"({strategy.schedule_cron} {strategy.schedule_timezone}, "
                    "exchange-closed days skipped): nothing to backtest."
                ]
            }
        )
    return slots
