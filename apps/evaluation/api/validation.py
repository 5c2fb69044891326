"""What a backtest request must name to be run: a strategy of the caller's, prompt versions
its owner may use, models its endpoint offers or prices, a window with schedule slots.

Each check raises DRF's ``ValidationError`` keyed by the request's field (``strategy``,
``variants`` as a list with one dict per variant, ``end``), answered as a 400.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from apps.analysis.selectors import prompt_templates_usable
from apps.common.api import owned_by
from apps.evaluation.services import VariantSpec, backtest_slots
from apps.strategies.models import Strategy

NO_STRATEGY = "No such strategy, or not one of yours."


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


def model_problem(strategy: Strategy, model: str) -> str | None:
    """Why ``model`` cannot be a variant's model of ``strategy`` (None: it can).

    When the strategy's LLM endpoint lists the models it offers, the model must be one of
    them (``LlmEndpoint.offered_models``). Otherwise it must be priced (the endpoint's
    ``prices``, else ``LLM_PRICES``; a ``vendor/`` prefix is ignored, as ``cost_usd`` looks
    prices up) or be the strategy's own or the default model (``LLM_MODEL``): an unpriced
    unknown id would make the cost estimate a silent 0."""
    endpoint = strategy.llm_endpoint
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


def variant_specs(strategy: Strategy, rows: list[dict[str, Any]]) -> list[VariantSpec]:
    """``VariantSpec``s from the request's variant rows (label, llm_model, prompt_version,
    analyst). A prompt version is a version number of the strategy's prompt template name
    that the owner may use. A blank label becomes ``key=value,…`` of what the variant
    changes, or ``v<n>``. ValidationError on ``variants`` (one dict per row) otherwise."""
    specs: list[VariantSpec] = []
    errors: list[dict[str, list[str]]] = []
    name = strategy.prompt_template.name
    usable = prompt_templates_usable(owner_id=strategy.owner_id).filter(name=name)
    for n, row in enumerate(rows, start=1):
        problems: dict[str, list[str]] = {}
        template_id = None
        version = row.get("prompt_version")
        if version is not None:
            template_id = usable.filter(version=version).values_list("pk", flat=True).first()
            if template_id is None:
                problems["prompt_version"] = [f"No version {version} of prompt {name!r}."]
        model = (row.get("llm_model") or "").strip()
        if model and (problem := model_problem(strategy, model)):
            problems["llm_model"] = [problem]
        analyst = row.get("analyst") or ""
        changes = {"model": model, "prompt": f"v{version}" if version else "", "analyst": analyst}
        label = (row.get("label") or "").strip() or (
            ",".join(f"{k}={v}" for k, v in changes.items() if v) or f"v{n}"
        )
        errors.append(problems)
        specs.append(
            VariantSpec(
                label=label[:128], llm_model=model, prompt_template_id=template_id, analyst=analyst
            )
        )
    if any(errors):
        raise ValidationError({"variants": errors})
    return specs


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
