"""The checks a decision must pass before it may become an order.

BUY needs stop < entry < target, SELL the mirror (target < entry < stop); reward/risk
= |target − entry| / |entry − stop| must reach the strategy's minimum, confidence too; the entry
must lie within ``max_entry_deviation_pct`` of the last close; a BUY may not meet a short
position nor a SELL a long one (``no_opposite_position``, in the signal step); the sized
quantity must be > 0.
"""

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Check:
    """One named check: passed or not, with the numbers behind it."""

    name: str
    passed: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        """The check as a JSON object for lineage and the Signal row."""
        return asdict(self)


@dataclass(frozen=True)
class TradeLimits:
    """The strategy's minimums, as Decimals (confidence 0–1, deviation in percent)."""

    min_confidence: Decimal
    min_reward_risk: Decimal
    max_entry_deviation_pct: Decimal


def reward_risk(entry: Decimal, stop: Decimal, target: Decimal) -> Decimal | None:
    """|target − entry| / |entry − stop| to four decimals, or None when entry equals stop."""
    risk = abs(entry - stop)
    # Four decimals: prices pass through floats in analysts, and 1.4999999 means 1.5.
    return (abs(target - entry) / risk).quantize(Decimal("0.0001")) if risk else None


def price_checks(
    *, action: str, entry: Decimal | None, stop: Decimal | None, target: Decimal | None
) -> list[Check]:
    """Presence and ordering of entry, stop and target for a BUY or SELL."""
    missing = [
        name
        for name, value in (("entry", entry), ("stop_loss", stop), ("take_profit", target))
        if value is None
    ]
    if missing:
        return [Check("prices_present", False, f"missing {', '.join(missing)}")]
    assert entry is not None and stop is not None and target is not None
    checks = [
        Check(
            "prices_positive",
            min(entry, stop, target) > 0,
            f"entry {entry}, stop {stop}, target {target}",
        )
    ]
    if action == "BUY":
        checks.append(
            Check(
                "stop_below_entry_below_target",
                stop < entry < target,
                f"BUY needs stop {stop} < entry {entry} < target {target}",
            )
        )
    else:
        checks.append(
            Check(
                "target_below_entry_below_stop",
                target < entry < stop,
                f"SELL needs target {target} < entry {entry} < stop {stop}",
            )
        )
    return checks


def trade_checks(
    *,
    entry: Decimal,
    stop: Decimal,
    target: Decimal,
    confidence: Decimal,
    last_close: Decimal,
    limits: TradeLimits,
) -> list[Check]:
    """Reward/risk, confidence and entry-distance checks for sound prices."""
    ratio = reward_risk(entry, stop, target) or Decimal(0)
    deviation = abs(entry - last_close) / last_close * 100
    return [
        Check(
            "reward_risk",
            ratio >= limits.min_reward_risk,
            f"reward/risk {ratio:.3f} vs minimum {limits.min_reward_risk}",
        ),
        Check(
            "confidence",
            confidence >= limits.min_confidence,
            f"confidence {confidence} vs minimum {limits.min_confidence}",
        ),
        Check(
            "entry_near_last_close",
            deviation <= limits.max_entry_deviation_pct,
            f"entry {entry} is {deviation:.3f}% from last close {last_close}; "
            f"limit {limits.max_entry_deviation_pct}%",
        ),
    ]
