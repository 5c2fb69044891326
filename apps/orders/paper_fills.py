"""How the paper broker fills a bracket against the bars after it reached the market.

Rules (the usual bar-replay conventions; see README "Paper broker"):
- The parent is live from the first bar opening at or after its market time. A market order fills
  at that bar's open, moved against the trader by ``slippage_ticks`` × tick. A limit order fills
  when the bar's range reaches the limit, at the limit or at the open if the bar gapped through it.
- A DAY parent that has not filled by the end of its first trading day (the instrument's
  timezone) is cancelled; GTC stays working.
- Children become live on the bar after the parent's fill. A stop triggers when the range
  touches it and fills at the stop, or at the open when the bar gapped through it, less slippage.
  A take-profit fills like a limit. When one bar touches both, the stop is assumed to come first
  (conservative). A child's fill cancels its OCA sibling.
- A modified order (quantity, limit, stop changed in place) is replayed with the values in
  effect at each bar: a version applies to bars opening at or after its market time, the
  earlier bars see the values it replaced (``SimOrder.versions``).
- Commission per fill: IBKR-style per unit (stocks) or basis points of value (forex), with a
  minimum and a maximum percentage of value.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.marketdata.bar_checks import OhlcvRow


@dataclass(frozen=True)
class FillConfig:
    """Slippage and commission settings; tick and money in the instrument's currency."""

    tick: Decimal
    slippage_ticks: int
    commission_per_unit: Decimal
    commission_min: Decimal
    commission_max_pct: Decimal
    timezone: str = "UTC"
    commission_bps: Decimal = Decimal(0)

    def commission(self, quantity: Decimal, price: Decimal) -> Decimal:
        """max(min, per-unit × quantity + bps/10,000 × value), capped at max_pct % of value.

        Stocks use the per-unit rate (IBKR fixed: USD 0.005/share, min 1, max 1 %); forex the
        basis-point rate on value (IBKR: 0.2 bps, min USD 2).
        """
        value = quantity * price
        raw = self.commission_per_unit * quantity + value * self.commission_bps / 10_000
        capped = min(max(self.commission_min, raw), value * self.commission_max_pct / 100)
        return capped.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class SimVersion:
    """The values of an order from ``effective_at`` (a market time, tz-aware UTC) on:
    quantity in units, prices in the instrument's currency."""

    effective_at: datetime
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None


@dataclass
class SimOrder:
    """One order of the bracket as the simulation sees it. ``versions`` (oldest first) are
    its values over time when it was modified; empty when it never was (the fields hold)."""

    ref: str
    role: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    status: str = "submitted"
    reason: str = ""
    fill_price: Decimal | None = None
    fill_time: datetime | None = None
    versions: tuple[SimVersion, ...] = ()

    def at(self, moment: datetime) -> None:
        """Take the values of the latest version in effect at ``moment`` (none: unchanged)."""
        current = [v for v in self.versions if v.effective_at <= moment]
        if current:
            version = current[-1]
            self.quantity = version.quantity
            self.limit_price = version.limit_price
            self.stop_price = version.stop_price


@dataclass
class SimResult:
    """Final statuses by reference, and fills as (ref, time, quantity, price, commission)."""

    orders: dict[str, SimOrder]
    fills: list[tuple[str, datetime, Decimal, Decimal, Decimal]] = field(default_factory=list)


def _slipped(price: Decimal, side: str, config: FillConfig) -> Decimal:
    slip = config.tick * config.slippage_ticks
    return price + slip if side == "BUY" else price - slip


def _limit_fill(order: SimOrder, bar: OhlcvRow) -> Decimal | None:
    limit = order.limit_price
    assert limit is not None
    if order.side == "BUY" and bar.low <= limit:
        return min(bar.open, limit)
    if order.side == "SELL" and bar.high >= limit:
        return max(bar.open, limit)
    return None


def _stop_fill(order: SimOrder, bar: OhlcvRow, config: FillConfig) -> Decimal | None:
    stop = order.stop_price
    assert stop is not None
    if order.side == "SELL" and bar.low <= stop:
        return _slipped(min(bar.open, stop), "SELL", config)
    if order.side == "BUY" and bar.high >= stop:
        return _slipped(max(bar.open, stop), "BUY", config)
    return None


def order_fill_price(order: SimOrder, bar: OhlcvRow, config: FillConfig) -> Decimal | None:
    """The price ``order`` fills at within ``bar``, or None when the bar does not reach it."""
    if order.order_type == "MKT":
        return _slipped(bar.open, order.side, config)
    if order.order_type == "LMT":
        return _limit_fill(order, bar)
    return _stop_fill(order, bar, config)


def _fill(
    result: SimResult, order: SimOrder, bar: OhlcvRow, price: Decimal, config: FillConfig
) -> None:
    order.status, order.fill_price, order.fill_time = "filled", price, bar.ts
    commission = config.commission(order.quantity, price)
    result.fills.append((order.ref, bar.ts, order.quantity, price, commission))


def _local_date(moment: datetime, config: FillConfig) -> object:
    return moment.astimezone(ZoneInfo(config.timezone)).date()


def _step_parent(
    result: SimResult, parent: SimOrder, bar: OhlcvRow, first_bar: OhlcvRow, config: FillConfig
) -> None:
    if parent.time_in_force == "DAY" and _local_date(bar.ts, config) != _local_date(
        first_bar.ts, config
    ):
        parent.status, parent.reason = "cancelled", "DAY order expired unfilled"
        return
    price = order_fill_price(parent, bar, config)
    if price is not None:
        _fill(result, parent, bar, price, config)


def _step_children(
    result: SimResult, children: list[SimOrder], bar: OhlcvRow, config: FillConfig
) -> None:
    # Stops first: with only OHLC we cannot know the order within the bar, so assume the worst.
    for child in sorted(children, key=lambda order: order.role != "stop_loss"):
        price = order_fill_price(child, bar, config)
        if price is None:
            continue
        _fill(result, child, bar, price, config)
        for sibling in children:
            if sibling is not child and sibling.status == "submitted":
                sibling.status, sibling.reason = "cancelled", f"OCA: {child.ref} filled"
        return


def simulate_bracket(
    parent: SimOrder, children: list[SimOrder], bars: Sequence[OhlcvRow], config: FillConfig
) -> SimResult:
    """Replay ``bars`` (oldest first, all opening at or after the market time) over a bracket."""
    result = SimResult(orders={order.ref: order for order in (parent, *children)})
    if not bars:
        return result
    for bar in bars:
        for order in (parent, *children):
            if order.status == "submitted":
                order.at(bar.ts)
        if parent.status == "submitted":
            _step_parent(result, parent, bar, bars[0], config)
        elif parent.status == "filled" and bar.ts > (parent.fill_time or bar.ts):
            _step_children(result, [c for c in children if c.status == "submitted"], bar, config)
        if parent.status == "cancelled" or (
            parent.status == "filled" and all(c.status != "submitted" for c in children)
        ):
            break
    if parent.status == "cancelled":
        for child in children:
            child.status, child.reason = "cancelled", "parent cancelled"
    return result
