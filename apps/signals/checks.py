"""The checks a decision must pass before it may become an order.

BUY needs stop < entry < target, SELL the mirror (target < entry < stop); reward/risk
= |target − entry| / |entry − stop| must reach the strategy's minimum, confidence too; the entry
must lie within ``max_entry_deviation_pct`` of the last close; a BUY may not meet a short
position nor a SELL a long one (``no_opposite_position``); the sized quantity must be > 0
(``quantity_positive``). Before any of them, the model's prices go on the instrument's tick grid
(``on_tick``), and prices too large to store fail ``prices_in_range``.

These are rules only: they read nothing from the database. ``apps.signals.services`` gathers
what they need (position, working entries, sizing) and runs them in order.
"""

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from apps.analysis.decision import Decision
from apps.common.decimals import plain, round_to_tick, to_decimal
from apps.orders.sizing import SizingResult


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


# Prices are stored as Decimal(20, 8): anything from 10^12 up cannot be a price here.
MAX_PRICE = 10**12


@dataclass(frozen=True)
class TickedDecision:
    """A decision as the checks judge it and a Signal stores it: ``entry``, ``stop_loss`` and
    ``take_profit`` on the instrument's tick grid as Decimals (instrument currency; None when
    absent or beyond ``MAX_PRICE``), ``confidence`` to the 3 decimals a Signal stores."""

    action: str
    confidence: float
    entry: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    reasoning: str
    intent: str = ""


def _storable(value: float | None) -> bool:
    return value is None or abs(value) < MAX_PRICE


def _quoted(price: Decimal) -> Decimal:
    """``price`` in its shortest form with at least one decimal (``101.0``, ``101.25``): the
    form check details have always shown a price in."""
    shortest = price.normalize()
    return (
        shortest.quantize(Decimal("0.1")) if shortest == shortest.to_integral_value() else shortest
    )


def _ticked(value: float | None, tick: Decimal) -> Decimal | None:
    if value is None or not _storable(value):
        return None
    return _quoted(round_to_tick(to_decimal(value), tick))


def on_tick(decision: Decision, tick: Decimal) -> TickedDecision:
    """The decision with entry, stop and target on the instrument's tick grid (brokers refuse
    other prices; ``tick`` in the instrument's currency) and confidence to the 3 decimals a
    Signal stores, so the checks judge exactly what would be stored and sent. A price beyond
    MAX_PRICE becomes None (it is rejected by ``out_of_range_check``, and could not be
    stored)."""
    return TickedDecision(
        action=decision.action,
        confidence=round(decision.confidence, 3),
        entry=_ticked(decision.entry, tick),
        stop_loss=_ticked(decision.stop_loss, tick),
        take_profit=_ticked(decision.take_profit, tick),
        reasoning=decision.reasoning,
        intent=decision.intent or "",
    )


def out_of_range_check(decision: Decision) -> Check | None:
    """A failed ``prices_in_range`` check naming the prices a model gave beyond MAX_PRICE (as
    the model gave them), or None when every price can be stored."""
    wild = [
        f"{name} {value}"
        for name, value in (
            ("entry", decision.entry),
            ("stop_loss", decision.stop_loss),
            ("take_profit", decision.take_profit),
        )
        if not _storable(value)
    ]
    if not wild:
        return None
    return Check("prices_in_range", False, f"{', '.join(wild)} beyond {MAX_PRICE:.0e}")


def position_side_check(*, action: str, held: Decimal, symbol: str) -> Check:
    """A BUY while short or a SELL while long fails: its bracket would net against the
    position (the entry reduces it) while its exits — protective orders of the opposite side —
    would then re-open it, so the stop no longer protects what is held. Close the position
    first. ``held`` is the strategy's own signed position in the symbol (negative is short), in
    shares/contracts; returns the ``no_opposite_position`` check with its detail."""
    opposite = (action == "BUY" and held < 0) or (action == "SELL" and held > 0)
    side = "long" if held > 0 else "short" if held < 0 else "flat"
    detail = (
        f"{action} against the {side} position of {plain(abs(held))} {symbol}; close it first"
        if opposite
        else f"position {side}" + (f" {plain(abs(held))}" if held else "")
    )
    return Check("no_opposite_position", not opposite, detail)


def quantity_check(sizing: SizingResult, working: Decimal) -> Check:
    """``quantity_positive``: the sized quantity (shares/contracts) must be above 0; the detail
    names each limit behind it and ``working``, the unfilled entries of the same side counted
    toward the position limit."""
    pending = f"; {plain(working)} in working entries" if working else ""
    return Check(
        "quantity_positive",
        sizing.quantity > 0,
        f"quantity {sizing.quantity} (risk {sizing.by_risk}, position limit "
        f"{sizing.by_position_limit}, notional {sizing.by_notional}{pending})",
    )
