"""Position accounting per symbol, IBKR-style: average cost includes commissions.

Opening or adding: average cost = (|q|·avg + qty·price ± commission) / (|q| + qty) (+ for longs,
− for shorts, since a short's commission reduces its proceeds). Reducing: realized P&L =
(price − avg) · closed · sign(q) − commission share; a fill larger than the position flips it,
the remainder opening at the fill price.
"""

from decimal import Decimal

from apps.orders.locks import positions_lock
from apps.orders.models import Position, Side


def _sign(value: Decimal) -> int:
    return (value > 0) - (value < 0)


def position_apply_fill(
    *, symbol_id: int, side: str, quantity: Decimal, price: Decimal, commission: Decimal
) -> Decimal:
    """Apply one fill to the symbol's position (row-locked); returns the realized P&L.

    Must be called inside a transaction. Money in the instrument's currency.
    """
    position = positions_lock([symbol_id])[symbol_id]
    signed = quantity if side == Side.BUY else -quantity
    held = position.quantity
    if held == 0 or _sign(held) == _sign(signed):
        _add(position, signed, price, commission)
        realized = Decimal(0)
    else:
        closed = min(quantity, abs(held))
        realized = (price - position.average_cost) * closed * _sign(held)
        realized -= commission * closed / quantity
        opening = quantity - closed
        position.quantity = held + signed if opening == 0 else Decimal(0)
        if position.quantity == 0:
            position.average_cost = Decimal(0)
        if opening:
            _add(position, opening * _sign(signed), price, commission * opening / quantity)
    realized = realized.quantize(Decimal("0.0001"))
    position.realized_pnl += realized
    position.save()
    return realized


def _add(position: Position, signed: Decimal, price: Decimal, commission: Decimal) -> None:
    held = abs(position.quantity)
    cost_commission = commission if signed > 0 else -commission
    total = held * position.average_cost + abs(signed) * price + cost_commission
    position.quantity += signed
    position.average_cost = (total / abs(position.quantity)).quantize(Decimal("0.00000001"))
