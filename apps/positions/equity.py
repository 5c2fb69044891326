"""Equity now, in one currency: starting money + realized P&L + unrealized P&L at the last price.

What the automatic triggers (daily loss, drawdown) watch. Figures in one currency only (the
account's base currency, the strategy's symbol's currency): positions in any other currency
are left out — money is never converted or added across currencies (as the portfolio and the
performance reports).

- realized: Σ ``realized_pnl`` of the positions (closed ones, and partial exits of open ones),
  net of every commission (``apps.positions.accounting``).
- unrealized: Σ over open positions of (last − average cost) × signed quantity (negative for a
  SHORT), ``last`` the close of the symbol's latest stored bar of its smallest stored bar size
  — the last price the system has, as the positions page shows it. IBKR-style average cost
  includes the entry commissions, so unrealized is net of them. An open position whose symbol
  has no bar is not marked (``unpriced`` counts it).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.marketdata.models import Bar, BarSize
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.symbols.models import Symbol

MONEY_QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Equity:
    """One equity in ``currency``: ``starting`` money + ``realized`` + ``unrealized`` P&L =
    ``equity`` (all money, four places); ``unpriced`` open positions had no bar to mark."""

    currency: str
    starting: Decimal
    realized: Decimal
    unrealized: Decimal
    unpriced: int

    @property
    def equity(self) -> Decimal:
        """starting + realized + unrealized (money)."""
        return self.starting + self.realized + self.unrealized


def last_prices(*, symbol_ids: set[int]) -> dict[int, Decimal]:
    """Per symbol id, the close of its latest stored bar of its smallest stored bar size (the
    symbol's currency); symbols without a bar are absent. One query."""
    if not symbol_ids:
        return {}
    price = DecimalField(max_digits=20, decimal_places=8)
    closes = (
        Bar.objects.filter(symbol_id=OuterRef("pk"), bar_size=size)
        .order_by("-ts")
        .values("close")[:1]
        for size in BarSize.values  # smallest first
    )
    rows = (
        Symbol.objects.filter(pk__in=symbol_ids)
        .annotate(last_close=Coalesce(*(Subquery(c) for c in closes), output_field=price))
        .values_list("pk", "last_close")
    )
    return {pk: close for pk, close in rows if close is not None}


def positions_equity(*, positions: Q, currency: str, starting: Decimal) -> Equity:
    """The equity of the strategy positions matching ``positions`` (a filter, e.g.
    ``Q(account_id=3)``) whose symbol trades in ``currency``, from ``starting`` money (the
    account's starting cash, the strategy's capital). Three queries."""
    rows = StrategyPosition.objects.filter(positions, symbol__currency=currency)
    realized = rows.aggregate(total=Coalesce(Sum("realized_pnl"), ZERO))["total"]
    open_rows = list(
        rows.filter(status=PositionStatus.OPEN).values_list(
            "symbol_id", "side", "quantity", "average_cost"
        )
    )
    prices = last_prices(symbol_ids={row[0] for row in open_rows})
    unrealized = ZERO
    unpriced = 0
    for symbol_id, side, quantity, average_cost in open_rows:
        last = prices.get(symbol_id)
        if last is None:
            unpriced += 1
            continue
        signed = -quantity if side == PositionSide.SHORT else quantity
        unrealized += (last - average_cost) * signed
    return Equity(
        currency=currency,
        starting=starting,
        realized=Decimal(realized).quantize(MONEY_QUANTUM),
        unrealized=unrealized.quantize(MONEY_QUANTUM),
        unpriced=unpriced,
    )
