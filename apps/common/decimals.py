"""Conversions between floats from numeric libraries and the Decimals kept in the database."""

import math
from decimal import ROUND_HALF_EVEN, Decimal


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Return ``value`` as a Decimal via its shortest string form (no binary float noise).

    Raises ValueError for NaN or infinity, which no price, quantity or amount may be.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    result = value if isinstance(value, Decimal) else Decimal(str(value))
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value}")
    return result


def finite_or_none(value: float) -> float | None:
    """Return a float for JSON, or None where it is NaN/inf (TA-Lib's warm-up values)."""
    number = float(value)
    return number if math.isfinite(number) else None


def plain(value: Decimal) -> str:
    """``value`` as a person writes it: ``50``, ``12.5`` — no trailing zeros, no exponent
    (``Decimal("50.0000")`` → ``"50"``, ``Decimal("100")`` → ``"100"``, not ``"1E+2"``)."""
    return format(value.normalize(), "f")


def round_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    """The nearest multiple of the instrument's minimum tick ``tick`` (both in the instrument's
    currency), halves to even; brokers refuse prices off the tick (IBKR error 110)."""
    return (price / tick).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * tick
