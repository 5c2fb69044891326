"""LLM budgets: what a strategy's, and a user's, model calls may cost per UTC day and month.

Spend is the sum of ``LlmCall.cost_usd`` (USD, priced from the endpoint's table or
``LLM_PRICES`` when recorded) of calls made since the start of the UTC day or month; an answer
served by the evaluation answer cache (``cache="hit"``) cost nothing and does not count. Before
each call the llm step checks that the spend plus the call's estimate (``llm_cost_estimate``:
the strategy's typical tokens at its model's price) stays within every limit that applies —
the strategy's own (``Strategy.llm_budget_daily_usd`` / ``_monthly_usd``) and its owner's
(``LlmUserBudget``, all their strategies together, backtest copies included); a reached budget
fails the step before any request is made, with no fallback spend, and notifies the
strategy's owner once per budget and period (``budget_reached_notify``).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, Sum

from apps.analysis.costs import llm_cost_estimate
from apps.analysis.models import LlmCall, LlmUserBudget
from apps.analysis.notices import budget_reached_notify
from apps.common.errors import SibylError
from apps.strategies.models import Strategy


class LlmBudgetReachedError(SibylError):
    """A model call would exceed an LLM budget: the message names which (strategy or user,
    day or month), its limit, the spend so far and the call's estimate (USD)."""

    http_status = 409


@dataclass(frozen=True)
class BudgetUse:
    """One limit and its use: ``scope`` (``strategy`` or ``user``), ``period`` (``day`` or
    ``month``), ``limit_usd`` (None: no limit), ``spent_usd`` since ``since`` (tz-aware UTC)
    and ``remaining_usd`` (None without a limit; never below 0)."""

    scope: str
    period: str
    limit_usd: Decimal | None
    spent_usd: Decimal
    since: datetime

    @property
    def remaining_usd(self) -> Decimal | None:
        if self.limit_usd is None:
            return None
        return max(Decimal(0), self.limit_usd - self.spent_usd)


def _period_starts(now: datetime) -> dict[str, datetime]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"day": day, "month": day.replace(day=1)}


def _spent(calls: Q, since: datetime) -> Decimal:
    total = (
        LlmCall.objects.filter(calls, created_at__gte=since)
        .exclude(cache="hit")
        .aggregate(total=Sum("cost_usd"))["total"]
    )
    return total or Decimal(0)


def llm_budget_use(*, strategy: Strategy, now: datetime) -> list[BudgetUse]:
    """The strategy's and its owner's budgets (day and month each; a limit of None where none
    is set) with what was spent in the UTC day and month of ``now`` (tz-aware)."""
    starts = _period_starts(now)
    limits = {
        "strategy": {
            "day": strategy.llm_budget_daily_usd,
            "month": strategy.llm_budget_monthly_usd,
        }
    }
    scopes = {"strategy": Q(strategy_id=strategy.pk)}
    if strategy.owner_id is not None:
        budget = LlmUserBudget.objects.filter(user_id=strategy.owner_id).first()
        limits["user"] = {
            "day": budget.daily_usd if budget else None,
            "month": budget.monthly_usd if budget else None,
        }
        scopes["user"] = Q(strategy__owner_id=strategy.owner_id)
    return [
        BudgetUse(
            scope=scope,
            period=period,
            limit_usd=limit,
            spent_usd=_spent(scopes[scope], starts[period]) if limit is not None else Decimal(0),
            since=starts[period],
        )
        for scope, periods in limits.items()
        for period, limit in periods.items()
    ]


def llm_budget_check(*, strategy: Strategy, now: datetime) -> None:
    """Raise LlmBudgetReachedError when one more call of ``strategy`` (its estimate) would
    take any budget that applies past its limit; returns None when every limit allows it."""
    estimate = llm_cost_estimate(strategy=strategy, slots=1)
    for use in llm_budget_use(strategy=strategy, now=now):
        if use.limit_usd is None:
            continue
        if use.spent_usd + estimate > use.limit_usd:
            reason = (
                f"LLM budget reached: the {use.scope}'s {use.period} budget is "
                f"{use.limit_usd} USD, {use.spent_usd.quantize(Decimal('0.000001'))} spent "
                f"since {use.since:%Y-%m-%d %H:%M} UTC, this call would cost about "
                f"{estimate} USD: no model call"
            )
            budget_reached_notify(
                strategy=strategy, use=(use.scope, use.period, use.since), why=reason
            )
            raise LlmBudgetReachedError(reason)
