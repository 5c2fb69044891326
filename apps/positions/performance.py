"""Performance arithmetic of strategy positions: trade statistics and drawdown. Pure (no DB).

Units: money (realized P&L, commissions, equity, drawdown) in one currency — the symbols'
currency of the positions given; callers never mix currencies. R multiples in R (realized P&L
÷ initial risk, Van Tharp). Fractions (win rate, drawdown fraction) are 0–1.

Definitions:

- A *trade* is one closed strategy position (one lifetime: opened by an entry fill, closed when
  its exits brought it back to zero). ``outcome`` is ``win`` (realized P&L > 0, commissions
  included), ``loss`` (< 0) or ``breakeven`` (= 0), as ``apps.positions.accounting.outcome``.
- ``win_rate`` = wins ÷ trades (breakevens count as trades, not wins); None without trades.
- ``average_r`` = the mean R multiple over the trades whose R is known (initial risk > 0: the
  entry had a stop); None when none is known.
- ``realized`` and ``commission`` are sums over the trades (realized is net of commissions).
- *Drawdown* at a point of an equity series is the running peak (the highest equity up to and
  including that point) minus the equity there, in money (≥ 0). The *maximum drawdown* is the
  largest such peak-to-trough decline (Magdon-Ismail & Atiya, "Maximum drawdown", Risk
  Magazine 2004; the usual definition of CFA Institute and of most backtesters):
  ``MDD = max_t (max_{s ≤ t} E_s − E_t)``. The *maximum drawdown fraction* is
  ``max_t (max_{s ≤ t} E_s − E_t) / max_{s ≤ t} E_s`` taken over the points whose running
  peak is > 0 (a fraction of a non-positive peak means nothing): it may come from another
  trough than the money figure (a small early equity loses a larger share).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
RATIO_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class ClosedTrade:
    """What the statistics need of one closed strategy position: ``realized`` P&L (money,
    net of every commission), its ``commission`` (money), ``r_multiple`` (R, None when the
    initial risk is unknown) and ``outcome`` (win/loss/breakeven)."""

    realized: Decimal
    commission: Decimal
    r_multiple: Decimal | None
    outcome: str


@dataclass(frozen=True)
class TradeStats:
    """Statistics of a set of closed trades in one currency (see the module docstring):
    counts, ``win_rate`` (0–1, None without trades), ``average_r`` (R, None without a known R)
    over ``r_trades`` trades, ``realized`` and ``commission`` sums (money)."""

    trades: int
    wins: int
    losses: int
    breakevens: int
    win_rate: Decimal | None
    average_r: Decimal | None
    r_trades: int
    realized: Decimal
    commission: Decimal


def win_rate(wins: int, trades: int) -> Decimal | None:
    """wins ÷ trades (0–1, four places; breakevens count as trades, not wins); None without
    trades."""
    return (Decimal(wins) / trades).quantize(RATIO_QUANTUM) if trades else None


def trade_stats(trades: Iterable[ClosedTrade]) -> TradeStats:
    """Count, win rate, average R, realized P&L and commissions of ``trades`` (closed
    positions in one currency). Win rate and average R are rounded to 4 places."""
    rows = list(trades)
    wins = sum(1 for t in rows if t.outcome == "win")
    losses = sum(1 for t in rows if t.outcome == "loss")
    known_r = [t.r_multiple for t in rows if t.r_multiple is not None]
    return TradeStats(
        trades=len(rows),
        wins=wins,
        losses=losses,
        breakevens=len(rows) - wins - losses,
        win_rate=win_rate(wins, len(rows)),
        average_r=(
            (sum(known_r, ZERO) / len(known_r)).quantize(RATIO_QUANTUM) if known_r else None
        ),
        r_trades=len(known_r),
        realized=sum((t.realized for t in rows), ZERO),
        commission=sum((t.commission for t in rows), ZERO),
    )


def drawdowns(equity: Sequence[Decimal]) -> list[Decimal]:
    """Per point of ``equity`` (money, in time order): the running peak minus the equity there
    (money, ≥ 0; 0 at a new high)."""
    result: list[Decimal] = []
    peak: Decimal | None = None
    for value in equity:
        peak = value if peak is None or value > peak else peak
        result.append(peak - value)
    return result


@dataclass(frozen=True)
class MaxDrawdown:
    """The largest peak-to-trough decline of an equity series: ``amount`` in money (≥ 0, 0 for
    a series that never declined or is empty) and ``fraction`` of the running peak (0–1, None
    when no point has a positive peak), each the maximum over the points (module docstring)."""

    amount: Decimal
    fraction: Decimal | None


def max_drawdown(equity: Sequence[Decimal]) -> MaxDrawdown:
    """Maximum drawdown of ``equity`` (money, in time order) in money and as a fraction of the
    running peak; the fraction is rounded to 4 places."""
    amount = ZERO
    fraction: Decimal | None = None
    peak: Decimal | None = None
    for value in equity:
        peak = value if peak is None or value > peak else peak
        amount = max(amount, peak - value)
        if peak > 0:
            share = (peak - value) / peak
            fraction = share if fraction is None else max(fraction, share)
    return MaxDrawdown(
        amount=amount, fraction=None if fraction is None else fraction.quantize(RATIO_QUANTUM)
    )
