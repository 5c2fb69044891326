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
- ``closed_trades``: closed strategy positions (``apps.positions``) whose ``prompt_template``
  is the version — the version of the run that opened the position — of that owner's
  strategies. One position is one trade, however many brackets added to or reduced it.
- ``win_rate``: those positions whose outcome is ``win`` (realized P&L > 0 after every
  commission, in the symbol's currency) ÷ closed trades; None without closed trades.
- ``avg_r_multiple``: the mean of the positions' R multiples (realized P&L ÷ initial risk, the
  risk being Σ entry fill quantity × |fill price − the signal's stop|: the risk actually taken
  at the entry fills, so entry slippage changes the risk, not R); a position without a known
  risk (no stop) counts for ``closed_trades`` and ``win_rate`` but not here; None when no
  position has one.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Q

from apps.analysis.models import PromptScore
from apps.orders.models import Order, OrderRole
from apps.positions.models import Outcome, PositionStatus, StrategyPosition
from apps.signals.models import Action, Signal, SignalStatus

# (template version id, strategy owner id or None): what one PromptScore row is about.
_Key = tuple[int, int | None]


@dataclass(frozen=True)
class _Trades:
    """Per template version and owner: closed strategy positions, the wins among them, and
    the mean R multiple of those with a known risk (None without one)."""

    closed: int = 0
    wins: int = 0
    avg_r_multiple: float | None = None


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


def _filled_signals() -> dict[_Key, int]:
    """Per (template version, owner): accepted BUY/SELL signals whose entry order has any
    execution (1 query)."""
    rows = (
        Order.objects.filter(
            role=OrderRole.ENTRY,
            filled_quantity__gt=0,
            signal__prompt_template__isnull=False,
            signal__status=SignalStatus.ACCEPTED,
        )
        .exclude(signal__action=Action.HOLD)
        .values("signal__prompt_template_id", "signal__strategy__owner_id")
        .annotate(filled=Count("signal_id", distinct=True))
        .order_by()
    )
    return {
        (row["signal__prompt_template_id"], row["signal__strategy__owner_id"]): row["filled"]
        for row in rows
    }


def _position_outcomes() -> dict[_Key, _Trades]:
    """Per (template version, owner): the closed strategy positions opened by runs of that
    version, their wins and mean R (1 query)."""
    rows = (
        StrategyPosition.objects.filter(status=PositionStatus.CLOSED, prompt_template__isnull=False)
        .values("prompt_template_id", "strategy__owner_id")
        .annotate(
            closed=Count("pk"),
            wins=Count("pk", filter=Q(outcome=Outcome.WIN)),
            avg_r=Avg("r_multiple"),
        )
        .order_by()
    )
    return {
        (row["prompt_template_id"], row["strategy__owner_id"]): _Trades(
            closed=row["closed"],
            wins=row["wins"],
            avg_r_multiple=None if row["avg_r"] is None else float(row["avg_r"]),
        )
        for row in rows
    }


def prompt_performance_compute(*, now: datetime) -> list[PromptScore]:
    """Score every (template version, strategy owner) that produced at least one signal;
    return the new rows.

    Input: ``now`` (tz-aware), stored as each row's ``computed_at``. Output: one new PromptScore
    per version and owner (``owner`` None: ownerless strategies), ordered by template id then
    owner id; earlier scores are kept (history). Shares and win rate
    are fractions 0–1 and ``avg_r_multiple`` is in R (see the module docstring for every
    definition); a ratio with nothing to divide by is None. Four queries whatever the number of
    signals: signal counts, filled entries, closed positions, one bulk insert.
    """
    filled = _filled_signals()
    outcomes = _position_outcomes()
    scores = []
    for counts in _signal_counts():
        key = (counts.template_id, counts.owner_id)
        trades = outcomes.get(key, _Trades())
        scores.append(
            PromptScore(
                template_id=counts.template_id,
                owner_id=counts.owner_id,
                computed_at=now,
                signals=counts.signals,
                accepted_share=_share(counts.accepted, counts.proposals),
                filled_share=_share(filled.get(key, 0), counts.accepted),
                closed_trades=trades.closed,
                win_rate=_share(trades.wins, trades.closed),
                avg_r_multiple=trades.avg_r_multiple,
            )
        )
    return PromptScore.objects.bulk_create(scores)
