"""What a signal does to the strategy's own position: the position action (openspec
positions spec, "Signals on a held position").

Against the strategy's own open position in the symbol (``held``, signed: negative is short):

- flat: BUY or SELL opens a position (``open``);
- the opposite action (SELL while long, BUY while short) closes it (``close``) or reverses it
  (``reverse``: close, then the new bracket once the close filled) — the strategy's
  ``opposite_signal`` setting, or the model's ``intent`` when it gave ``close`` or ``reverse``;
- the same action adds to it (``scale_in``) when the strategy allows scale-ins and fewer than
  ``max_scale_ins`` were made in this position's lifetime; refused otherwise;
- HOLD does nothing, or moves the stop (``trail``) when the strategy trails its stop and the
  signal's stop only tightens it: above the current stop and below the last close for a long,
  the mirror for a short.

The model's ``intent`` is checked against the position: ``close``/``reverse`` need a position
the action closes, ``adjust`` one the action adds to (or a HOLD that trails). These are rules
only: they read nothing from the database.
"""

from dataclasses import dataclass
from decimal import Decimal

from apps.common.decimals import plain
from apps.signals.checks import Check

OPEN, CLOSE, REVERSE, SCALE_IN, TRAIL, NONE = "open", "close", "reverse", "scale_in", "trail", ""


@dataclass(frozen=True)
class HeldPosition:
    """The strategy's open position in the symbol as the plan sees it: ``quantity`` signed
    (units; negative short, 0 flat), its ``id``, the ``stop`` of its working stop-loss order
    (None without one) and how many scale-ins it made (``scale_ins``)."""

    quantity: Decimal
    position_id: int | None = None
    stop: Decimal | None = None
    scale_ins: int = 0

    @property
    def side(self) -> str:
        """``LONG``, ``SHORT`` or ``flat``."""
        return "LONG" if self.quantity > 0 else "SHORT" if self.quantity < 0 else "flat"

    def describe(self, symbol: str) -> str:
        """``LONG 100 GOOG`` or ``flat in GOOG``."""
        if not self.quantity:
            return f"flat in {symbol}"
        return f"{self.side} {plain(abs(self.quantity))} {symbol}"


@dataclass(frozen=True)
class PlanSettings:
    """The strategy's position-management settings (``Strategy`` fields of the same names)."""

    opposite_signal: str = CLOSE
    scale_in: bool = False
    max_scale_ins: int = 1
    trail_stop: bool = False


@dataclass(frozen=True)
class PositionPlan:
    """The position action a signal asks for (``open``, ``close``, ``reverse``, ``scale_in``,
    ``trail`` or ``""`` for none) and the ``position_action`` check that says why (None for a
    HOLD that does nothing). A failed check rejects the signal."""

    action: str
    check: Check | None


NO_PLAN = PositionPlan(NONE, None)


def _check(passed: bool, detail: str) -> Check:
    return Check("position_action", passed, detail)


def position_plan(
    *,
    action: str,
    intent: str,
    held: HeldPosition,
    settings: PlanSettings,
    symbol: str,
    stop: Decimal | None,
    last_close: Decimal,
) -> PositionPlan:
    """The position action of a decision ``action`` (BUY/SELL/HOLD) with the model's
    ``intent`` ("" when none) against ``held`` (module docstring). ``stop`` is the signal's
    stop (for a trail), ``last_close`` the last bar's close (symbol's currency)."""
    where = held.describe(symbol)
    if action == "HOLD":
        return _hold(intent, held, settings, where, stop, last_close)
    direction = 1 if action == "BUY" else -1
    signed = held.quantity * direction
    if signed == 0:
        if intent in (CLOSE, REVERSE, "adjust"):
            return PositionPlan(
                NONE, _check(False, f"intent {intent}: {where}, nothing to {intent}")
            )
        return PositionPlan(OPEN, _check(True, f"open: {where}"))
    if signed < 0:
        if intent == "adjust":
            return PositionPlan(
                NONE, _check(False, f"intent adjust: {action} does not add to {where}")
            )
        chosen = intent if intent in (CLOSE, REVERSE) else settings.opposite_signal
        source = "the model's intent" if intent in (CLOSE, REVERSE) else "the strategy's setting"
        return PositionPlan(chosen, _check(True, f"{chosen} {where} ({source})"))
    if intent in (CLOSE, REVERSE):
        return PositionPlan(
            NONE,
            _check(False, f"intent {intent}: {action} does not {intent} {where}; "
                   f"{'SELL' if action == 'BUY' else 'BUY'} would"),
        )  # fmt: skip
    if not settings.scale_in:
        return PositionPlan(
            NONE, _check(False, f"already {where}; scale-in is off for this strategy")
        )
    if held.scale_ins >= settings.max_scale_ins:
        return PositionPlan(
            NONE,
            _check(
                False,
                f"already {where}; {held.scale_ins} of {settings.max_scale_ins} scale-ins made",
            ),
        )
    return PositionPlan(
        SCALE_IN,
        _check(True, f"scale in to {where} ({held.scale_ins + 1} of {settings.max_scale_ins})"),
    )


def _hold(
    intent: str,
    held: HeldPosition,
    settings: PlanSettings,
    where: str,
    stop: Decimal | None,
    last_close: Decimal,
) -> PositionPlan:
    """A HOLD: nothing, or a trail of the stop (passed checks only: a HOLD is never
    rejected for what it does not do)."""
    if not held.quantity or not settings.trail_stop or stop is None:
        return PositionPlan(NONE, None)
    current = held.stop
    if current is None:
        return PositionPlan(NONE, _check(True, f"hold {where}: no working stop to trail"))
    long = held.quantity > 0
    tighter = (current < stop < last_close) if long else (last_close < stop < current)
    if not tighter:
        return PositionPlan(
            NONE,
            _check(
                True,
                f"hold {where}: stop {plain(current)} kept; {plain(stop)} would not tighten it "
                f"(last close {plain(last_close)})",
            ),
        )
    return PositionPlan(
        TRAIL, _check(True, f"trail the stop of {where} from {plain(current)} to {plain(stop)}")
    )
