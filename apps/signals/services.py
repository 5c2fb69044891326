"""Signal services: judge a decision against the signal checks and record it as a Signal."""

from dataclasses import dataclass
from decimal import Decimal

from apps.common.decimals import to_decimal
from apps.lineage.models import Run
from apps.orders.selectors import working_entry_quantity
from apps.orders.sizing import SizingResult, size_position
from apps.positions.selectors import strategy_position_summary
from apps.signals.checks import (
    Check,
    TickedDecision,
    TradeLimits,
    position_side_check,
    price_checks,
    quantity_check,
    reward_risk,
    trade_checks,
)
from apps.signals.models import Action, PositionSide, Signal, SignalStatus
from apps.strategies.models import Strategy


@dataclass(frozen=True)
class SignalJudgement:
    """Every check evaluated for a decision, in order, and the sizing when the decision got as
    far as being sized (None for HOLD or when an earlier check already failed)."""

    checks: list[Check]
    sizing: SizingResult | None = None


def _sizing(
    strategy: Strategy, entry: Decimal, stop: Decimal, held: Decimal, working: Decimal
) -> SizingResult:
    """Size by risk, position limit and notional. Toward the limit count ``held`` (the
    position, signed in the trade's direction) when on the same side, and ``working``
    (unfilled entries of the same side that may still fill)."""
    return size_position(
        capital=strategy.capital,
        risk_per_trade_pct=strategy.risk_per_trade_pct,
        entry=entry,
        stop=stop,
        max_position_quantity=strategy.max_position_quantity,
        current_quantity=max(held, Decimal(0)) + working,
        max_order_notional=strategy.max_order_notional,
    )


def signal_judge(
    *, strategy: Strategy, decision: TickedDecision, last_close: Decimal
) -> SignalJudgement:
    """Run the signal checks on ``decision`` (prices already on the tick grid, ``last_close``
    in the instrument's currency): price presence and order first, and only when those pass
    reward/risk, confidence, entry distance, the strategy's own position side and the sized
    quantity (reading the strategy's own position and working entries in its symbol; other
    strategies on the account are the order step's conflict policy). HOLD needs
    no check. Raises nothing for a bad decision: a failed check says what is wrong."""
    if decision.action == "HOLD":
        return SignalJudgement([])
    entry, stop, target = decision.entry, decision.stop_loss, decision.take_profit
    checks = price_checks(action=decision.action, entry=entry, stop=stop, target=target)
    if not all(check.passed for check in checks):
        return SignalJudgement(checks)
    assert entry is not None and stop is not None and target is not None
    limits = TradeLimits(
        strategy.min_confidence, strategy.min_reward_risk, strategy.max_entry_deviation_pct
    )
    checks += trade_checks(
        entry=entry,
        stop=stop,
        target=target,
        confidence=to_decimal(decision.confidence),
        last_close=last_close,
        limits=limits,
    )
    held = strategy_position_summary(strategy_id=strategy.pk, symbol_id=strategy.symbol_id)[
        "quantity"
    ]
    checks.append(
        position_side_check(action=decision.action, held=held, symbol=strategy.symbol.symbol)
    )
    direction = 1 if decision.action == "BUY" else -1
    working = working_entry_quantity(
        strategy_id=strategy.pk, symbol_id=strategy.symbol_id, side=decision.action
    )
    sizing = _sizing(strategy, entry, stop, held * direction, working)
    checks.append(quantity_check(sizing, working))
    return SignalJudgement(checks, sizing)


def _price(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.00000001"))


def signal_create(
    *, run: Run, strategy: Strategy, decision: TickedDecision, checks: list[Check]
) -> Signal:
    """Record the run's signal: accepted when every check passed (HOLD needs none).

    ``decision`` is the decision on the tick grid (``apps.signals.checks.on_tick``); ``checks``
    is every check evaluated, kept on the signal; the failed ones become ``rejection_reasons``.
    Raises django's ValidationError when the signal breaks a field rule.
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
