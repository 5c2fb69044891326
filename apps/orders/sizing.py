"""Position sizing by fixed fractional risk.

quantity = floor(capital × risk% / |entry − stop|), then capped by the room left under the
strategy's maximum position and by its maximum order notional (quantity × entry). Whole
shares/contracts/units; a result of 0 means the trade cannot be sized.
"""

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True)
class SizingResult:
    """The quantity and each limit that produced it, for lineage."""

    quantity: Decimal
    risk_amount: Decimal
    by_risk: Decimal
    by_position_limit: Decimal
    by_notional: Decimal


def _floor(value: Decimal) -> Decimal:
    return max(value.to_integral_value(rounding=ROUND_FLOOR), Decimal(0))


def size_position(
    *,
    capital: Decimal,
    risk_per_trade_pct: Decimal,
    entry: Decimal,
    stop: Decimal,
    max_position_quantity: Decimal,
    current_quantity: Decimal,
    max_order_notional: Decimal,
) -> SizingResult:
    """Size one entry; prices and money in the instrument's currency, quantities signed-free.

    ``current_quantity`` is the absolute position already held in the trade's direction.
    Raises ValueError when entry equals stop or entry is not positive.
    """
    per_unit_risk = abs(entry - stop)
    if per_unit_risk == 0 or entry <= 0:
        raise ValueError("entry must be positive and differ from the stop")
    risk_amount = capital * risk_per_trade_pct / Decimal(100)
    by_risk = _floor(risk_amount / per_unit_risk)
    by_position = _floor(max_position_quantity - current_quantity)
    by_notional = _floor(max_order_notional / entry)
    return SizingResult(
        quantity=min(by_risk, by_position, by_notional),
        risk_amount=risk_amount,
        by_risk=by_risk,
        by_position_limit=by_position,
        by_notional=by_notional,
    )
