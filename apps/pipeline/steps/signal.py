"""Step 5, signal: check the decision and size it; record the signal accepted or rejected.

The rules live in ``apps.signals`` (``checks``: tick grid, price range, position side, quantity;
``services``: running them and recording the Signal); this step calls them and records lineage.
"""

from typing import Any

from apps.lineage.services import StepRecorder
from apps.pipeline.context import RunContext
from apps.signals.checks import on_tick, out_of_range_check
from apps.signals.models import SignalStatus
from apps.signals.position_plan import NO_PLAN, TRAIL
from apps.signals.services import signal_create, signal_judge
from apps.trading.models import TradingState
from apps.trading.trading_state import effective_trading_state

NAME = "signal"


def step_input(ctx: RunContext) -> dict[str, Any]:
    """The decision to check and the last close it is checked against."""
    assert ctx.answer is not None and ctx.bars is not None
    return {"decision": ctx.answer.decision.model_dump(), "last_close": str(ctx.bars.last_close)}


def run(ctx: RunContext, recorder: StepRecorder) -> None:
    """Record the signal and the position action it asks for; a rejection, a HOLD that
    does not trail the stop, or a halted trading state (global or the account's) ends the run
    without an order (the order step is recorded skipped with the reason)."""
    assert ctx.answer is not None and ctx.bars is not None
    decision = on_tick(ctx.answer.decision, ctx.strategy.symbol.min_tick)
    wild = out_of_range_check(ctx.answer.decision) if decision.action != "HOLD" else None
    plan = NO_PLAN
    if wild:
        checks = [wild]
    else:
        judgement = signal_judge(
            strategy=ctx.strategy,
            decision=decision,
            last_close=ctx.bars.last_close,
            as_of=ctx.run.as_of,
            last_bar_open=ctx.bars.ts[-1] if ctx.bars.ts else None,
        )
        checks, plan = judgement.checks, judgement.plan
        if judgement.sizing is not None:
            ctx.sizing = judgement.sizing
    signal = signal_create(
        run=ctx.run,
        strategy=ctx.strategy,
        decision=decision,
        checks=checks,
        position_action=plan.action,
    )
    ctx.signal = signal
    if signal.action == "HOLD" and signal.position_action != TRAIL:
        ctx.stop_reason = "HOLD: no order"
    elif signal.status == SignalStatus.REJECTED:
        ctx.stop_reason = "signal rejected: no order"
    else:
        trading = effective_trading_state(account_id=ctx.strategy.account_id)
        if trading.state == TradingState.HALTED:
            # The signal stays on record, accepted; the order step is skipped with the reason.
            ctx.stop_reason = f"{trading.describe()}: no order goes out"
    recorder.output = {
        "signal_id": signal.pk,
        "action": signal.action,
        "status": signal.status,
        "position_action": signal.position_action,
        "checks": signal.checks,
        "rejection_reasons": signal.rejection_reasons,
        "quantity": str(ctx.sizing.quantity) if ctx.sizing else None,
    }
