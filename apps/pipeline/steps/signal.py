"""Step 5, signal: check the decision and size it; record the signal accepted or rejected."""

from decimal import Decimal
from typing import Any

from apps.analysis.decision import Decision
from apps.common.decimals import plain, to_decimal
from apps.lineage.services import StepRecorder
from apps.orders.selectors import position_for_symbol, working_entry_quantity
from apps.orders.services import round_to_tick
from apps.orders.sizing import size_position
from apps.pipeline.context import RunContext
from apps.signals.checks import Check, TradeLimits, price_checks, trade_checks
from apps.signals.models import SignalStatus
from apps.signals.services import signal_create

NAME = "signal"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """The decision to check and the last close it is checked against."""
    assert ctx.answer is not None and ctx.bars is not None
    return {"decision": ctx.answer.decision.model_dump(), "last_close": str(ctx.bars.last_close)}


def position_side_check(*, action: str, held: Decimal, symbol: str) -> Check:
    """A BUY while short or a SELL while long fails: its bracket would net against the
    position (the entry reduces it) while its exits — protective orders of the opposite side —
    would then re-open it, so the stop no longer protects what is held. Close the position
    first. ``held`` is the account's signed position in the symbol (negative is short), in
    shares/contracts; returns the ``no_opposite_position`` check with its detail."""
    opposite = (action == "BUY" and held < 0) or (action == "SELL" and held > 0)
    side = "long" if held > 0 else "short" if held < 0 else "flat"
    detail = (
        f"{action} against the {side} position of {plain(abs(held))} {symbol}; close it first"
        if opposite
        else f"position {side}" + (f" {plain(abs(held))}" if held else "")
    )
    return Check("no_opposite_position", not opposite, detail)


def _sizing_check(
    ctx: RunContext, entry: Decimal, stop: Decimal, held: Decimal, working: Decimal
) -> Check:
    """Size by risk, position limit and notional; fails when that leaves nothing to trade.
    Toward the limit count ``held`` (the position, signed in the trade's direction) when on the
    same side, and ``working`` (unfilled entries of the same side that may still fill)."""
    s = ctx.strategy
    ctx.sizing = size_position(
        capital=s.capital,
        risk_per_trade_pct=s.risk_per_trade_pct,
        entry=entry,
        stop=stop,
        max_position_quantity=s.max_position_quantity,
        current_quantity=max(held, Decimal(0)) + working,
        max_order_notional=s.max_order_notional,
    )
    sizing = ctx.sizing
    pending = f"; {plain(working)} in working entries" if working else ""
    return Check(
        "quantity_positive",
        sizing.quantity > 0,
        f"quantity {sizing.quantity} (risk {sizing.by_risk}, position limit "
        f"{sizing.by_position_limit}, notional {sizing.by_notional}{pending})",
    )


# Prices are stored as Decimal(20, 8): anything from 10^12 up cannot be a price here.
MAX_PRICE = 10**12


def _storable(value: float | None) -> bool:
    return value is None or abs(value) < MAX_PRICE


def out_of_range_check(decision: Decision) -> Check | None:
    """A failed check naming the prices a model gave beyond MAX_PRICE, or None."""
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


def on_tick(decision: Decision, tick: Decimal) -> Decision:
    """The decision with entry, stop and target on the instrument's tick grid (brokers refuse
    other prices) and confidence to the 3 decimals a Signal stores, so the checks judge exactly
    what would be stored and sent. A price beyond MAX_PRICE becomes None (it is rejected by
    ``out_of_range_check``, and could not be stored)."""
    prices = {
        name: None
        if not _storable(value) or value is None
        else float(round_to_tick(to_decimal(value), tick))
        for name, value in (
            ("entry", decision.entry),
            ("stop_loss", decision.stop_loss),
            ("take_profit", decision.take_profit),
        )
    }
    return decision.model_copy(update={**prices, "confidence": round(decision.confidence, 3)})


def _checks(ctx: RunContext, decision: Decision) -> list[Check]:
    assert ctx.bars is not None
    s = ctx.strategy
    if decision.action == "HOLD":
        return []
    entry, stop, target = (
        None if v is None else to_decimal(v)
        for v in (decision.entry, decision.stop_loss, decision.take_profit)
    )
    checks = price_checks(action=decision.action, entry=entry, stop=stop, target=target)
    if not all(check.passed for check in checks):
        return checks
    assert entry is not None and stop is not None and target is not None
    limits = TradeLimits(s.min_confidence, s.min_reward_risk, s.max_entry_deviation_pct)
    checks += trade_checks(
        entry=entry,
        stop=stop,
        target=target,
        confidence=to_decimal(decision.confidence),
        last_close=ctx.bars.last_close,
        limits=limits,
    )
    held = position_for_symbol(symbol_id=s.symbol_id)["quantity"]
    checks.append(position_side_check(action=decision.action, held=held, symbol=s.symbol.symbol))
    direction = 1 if decision.action == "BUY" else -1
    working = working_entry_quantity(symbol_id=s.symbol_id, side=decision.action)
    checks.append(_sizing_check(ctx, entry, stop, held * direction, working))
    return checks


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Record the signal; HOLD or a rejection ends the run without an order."""
    assert ctx.answer is not None
    decision = on_tick(ctx.answer.decision, ctx.strategy.symbol.min_tick)
    wild = out_of_range_check(ctx.answer.decision) if decision.action != "HOLD" else None
    checks = [wild] if wild else _checks(ctx, decision)
    signal = signal_create(run=ctx.run, strategy=ctx.strategy, decision=decision, checks=checks)
    ctx.signal = signal
    if signal.action == "HOLD":
        ctx.stop_reason = "HOLD: no order"
    elif signal.status == SignalStatus.REJECTED:
        ctx.stop_reason = "signal rejected: no order"
    recorder.output = {
        "signal_id": signal.pk,
        "action": signal.action,
        "status": signal.status,
        "checks": signal.checks,
        "rejection_reasons": signal.rejection_reasons,
        "quantity": str(ctx.sizing.quantity) if ctx.sizing else None,
    }
