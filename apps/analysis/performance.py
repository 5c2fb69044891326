"""Prompt performance: how each template version's signals turned out, kept as PromptScore rows.

Scores are per owner: one row per (template version, owner of the strategies whose signals are
counted), so a published version used by two users is scored twice, each from that user's
signals only; ownerless strategies' signals make the rows with no owner.

Definitions (every count is over all the signals a version ever produced for that owner's
strategies, cumulative):

- ``signals``: every Signal whose ``prompt_template`` is the version, HOLD included. Signals
  without a template (recorded before templates were tracked) are not scored.
- ``accepted_share``: accepted BUY/SELL signals ÷ BUY/SELL signals — the share of *trade
  proposals* that passed the checks. HOLD is left out of both sides: it has no checks and is
  always accepted, so counting it would reward a template for proposing nothing. None when the
  version proposed no trade.
- ``filled_share``: accepted BUY/SELL signals whose entry order has any execution
  (``filled_quantity > 0``, so a partial fill counts) ÷ accepted BUY/SELL signals. None when
  none was accepted.
- ``closed_trades``: brackets whose entry has an execution and whose take-profit or stop-loss
  child is fully filled (status ``filled``): the exit completed.
- ``win_rate``: closed trades whose bracket P&L is > 0 ÷ closed trades; None without closed
  trades. Bracket P&L is the sum of ``realized_pnl`` over the entry and its children, in the
  symbol's currency, after commissions (positions carry commissions in their average cost).
- ``avg_r_multiple``: the mean over closed trades of bracket P&L ÷ initial risk, the risk being
  entry filled quantity × |signal.entry − signal.stop_loss| (the *planned* risk: slippage at
  entry or exit shows as an R beyond ±1). A trade whose risk is 0 or unknown counts for
  ``closed_trades`` and ``win_rate`` but not here; None when no trade has a known risk.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.analysis.models import PromptScore
from apps.orders.models import Order, OrderRole, OrderStatus
from apps.signals.models import Action, Signal, SignalStatus

ZERO = Decimal(0)


# (template version id, strategy owner id or None): what one PromptScore row is about.
_Key = tuple[int, int | None]


@dataclass
class _Brackets:
    """Per template version and owner: signals with a filled entry, and the closed trades'
    outcomes."""

    filled: set[int] = field(default_factory=set)
    closed: int = 0
    wins: int = 0
    r_multiples: list[Decimal] = field(default_factory=list)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class _Counts:
    """Per template version and owner: all signals, BUY/SELL signals, the accepted BUY/SELL
    ones."""

    template_id: int
    owner_id: int | None
    signals: int
    proposals: int
    accepted: int


def _signal_counts() -> list[_Counts]:
    """One row per (template version, strategy owner) that produced signals (1 query)."""
    trade = ~Q(action=Action.HOLD)
    rows = (
        Signal.objects.filter(prompt_template__isnull=False)
        .values("prompt_template_id", "strategy__owner_id")
        .annotate(
            total=Count("pk"),
            proposals=Count("pk", filter=trade),
            accepted=Count("pk", filter=trade & Q(status=SignalStatus.ACCEPTED)),
        )
        .order_by("prompt_template_id", "strategy__owner_id")
    )
    return [
        _Counts(
            row["prompt_template_id"],
            row["strategy__owner_id"],
            row["total"],
            row["proposals"],
            row["accepted"],
        )
        for row in rows
    ]


def _bracket_outcomes() -> dict[_Key, _Brackets]:
    """Every filled entry order with its bracket's P&L and whether it closed (1 query)."""
    children = Order.objects.filter(parent=OuterRef("pk"))
    child_pnl = (
        children.order_by().values("parent").annotate(total=Sum("realized_pnl")).values("total")
    )
    rows = (
        Order.objects.filter(
            role=OrderRole.ENTRY,
            filled_quantity__gt=0,
            signal__prompt_template__isnull=False,
            signal__status=SignalStatus.ACCEPTED,
        )
        .exclude(signal__action=Action.HOLD)
        .annotate(
            children_pnl=Coalesce(Subquery(child_pnl), ZERO),
            closed=Exists(children.filter(status=OrderStatus.FILLED)),
        )
        .values_list(
            "signal__prompt_template_id",
            "signal__strategy__owner_id",
            "signal_id",
            "filled_quantity",
            "realized_pnl",
            "children_pnl",
            "closed",
            "signal__entry",
            "signal__stop_loss",
        )
    )
    outcomes: dict[_Key, _Brackets] = defaultdict(_Brackets)
    for (
        template_id,
        owner_id,
        signal_id,
        quantity,
        entry_pnl,
        children_pnl,
        closed,
        entry,
        stop,
    ) in rows:
        brackets = outcomes[(template_id, owner_id)]
        brackets.filled.add(signal_id)
        if not closed:
            continue
        pnl = entry_pnl + children_pnl
        brackets.closed += 1
        if pnl > 0:
            brackets.wins += 1
        risk = quantity * abs(entry - stop) if entry is not None and stop is not None else ZERO
        if risk > 0:
            brackets.r_multiples.append(pnl / risk)
    return outcomes


def prompt_performance_compute(*, now: datetime) -> list[PromptScore]:
    """Score every (template version, strategy owner) that produced at least one signal;
    return the new rows.

    Input: ``now`` (tz-aware), stored as each row's ``computed_at``. Output: one new PromptScore
    per version and owner (``owner`` None: ownerless strategies), ordered by template id then
    owner id; earlier scores are kept (history). Shares and win rate
    are fractions 0–1 and ``avg_r_multiple`` is in R (see the module docstring for every
    definition); a ratio with nothing to divide by is None. Three queries whatever the number of
    signals: signal counts, filled brackets, one bulk insert.
    """
    outcomes = _bracket_outcomes()
    scores = []
    for counts in _signal_counts():
        brackets = outcomes.get((counts.template_id, counts.owner_id), _Brackets())
        r_multiples = brackets.r_multiples
        scores.append(
            PromptScore(
                template_id=counts.template_id,
                owner_id=counts.owner_id,
                computed_at=now,
                signals=counts.signals,
                accepted_share=_share(counts.accepted, counts.proposals),
                filled_share=_share(len(brackets.filled), counts.accepted),
                closed_trades=brackets.closed,
                win_rate=_share(brackets.wins, brackets.closed),
                avg_r_multiple=(
                    float(sum(r_multiples, ZERO) / len(r_multiples)) if r_multiples else None
                ),
            )
        )
    return PromptScore.objects.bulk_create(scores)
