"""Signal services: turn a decision and its checks into a recorded Signal."""

from decimal import Decimal

from apps.analysis.decision import Decision
from apps.common.decimals import to_decimal
from apps.lineage.models import Run
from apps.signals.checks import Check, reward_risk
from apps.signals.models import Action, PositionSide, Signal, SignalStatus
from apps.strategies.models import Strategy


def _price(value: float | None) -> Decimal | None:
    return None if value is None else to_decimal(value).quantize(Decimal("0.00000001"))


def signal_create(
    *, run: Run, strategy: Strategy, decision: Decision, checks: list[Check]
) -> Signal:
    """Record the run's signal: accepted when every check passed (HOLD needs none).

    ``checks`` is every check evaluated, kept on the signal; the failed ones become
    ``rejection_reasons``.
    """
    entry, stop, target = (
        _price(decision.entry),
        _price(decision.stop_loss),
        _price(decision.take_profit),
    )
    ratio = reward_risk(entry, stop, target) if entry and stop and target else None
    failed = [check.detail for check in checks if not check.passed]
    side = {Action.BUY: PositionSide.LONG, Action.SELL: PositionSide.SHORT}.get(
        Action(decision.action), ""
    )
    signal = Signal(
        strategy=strategy,
        run=run,
        prompt_template_id=strategy.prompt_template_id,
        action=decision.action,
        position_side=side,
        confidence=to_decimal(round(decision.confidence, 3)),
        entry=entry,
        stop_loss=stop,
        take_profit=target,
        reward_risk=ratio.quantize(Decimal("0.0001")) if ratio is not None else None,
        reasoning=decision.reasoning,
        status=SignalStatus.REJECTED if failed else SignalStatus.ACCEPTED,
        checks=[check.as_json() for check in checks],
        rejection_reasons=failed,
    )
    signal.full_clean()
    signal.save()
    return signal
