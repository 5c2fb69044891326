"""Signal services: judge a decision against the signal checks and record it as a Signal."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.common.decimals import to_decimal
from apps.lineage.models import Run
from apps.marketdata.bar_sizes import bars_staleness
from apps.orders.models import OrderType
from apps.orders.position_asof import strategy_position_as_of
from apps.orders.selectors import position_protection, working_entry_quantity
from apps.orders.sizing import SizingResult, size_position
from apps.positions.models import PositionStatus, StrategyPosition
from apps.signals.checks import (
    Check,
    TickedDecision,
    TradeLimits,
    price_checks,
    quantity_check,
    reward_risk,
    trade_checks,
)
from apps.signals.models import Action, PositionSide, Signal, SignalStatus
from apps.signals.position_plan import (
    CLOSE,
    NO_PLAN,
    OPEN,
    REVERSE,
    SCALE_IN,
    TRAIL,
    HeldPosition,
    PlanSettings,
    PositionPlan,
    position_plan,
)
from apps.strategies.models import Strategy
from apps.symbols.calendars import session_close_due
from apps.trading.models import TradingState
from apps.trading.trading_state import effective_trading_state


@dataclass(frozen=True)
class SignalJudgement:
    """Every check evaluated for a decision, in order, the sizing when the decision got as
    far as being sized (None for HOLD, a close, or when an earlier check already failed), and
    the position action it asks for (``apps.signals.position_plan``)."""

    checks: list[Check]
    sizing: SizingResult | None = None
    plan: PositionPlan = NO_PLAN


def held_position(*, strategy: Strategy, as_of: datetime) -> HeldPosition:
    """The strategy's position in its symbol as of ``as_of`` for the position plan: signed
    quantity (``strategy_position_as_of``: no fill after the as-of counts) and, when that is
    the stored open position, its id, the stop of its working stop-loss and its scale-ins so
    far (``HeldPosition``)."""
    quantity = strategy_position_as_of(
        strategy_id=strategy.pk, symbol_id=strategy.symbol_id, as_of=as_of
    )["quantity"]
    if not quantity:
        return HeldPosition(Decimal(0))
    row = (
        StrategyPosition.objects.filter(
            strategy_id=strategy.pk, symbol_id=strategy.symbol_id, status=PositionStatus.OPEN
        )
        .order_by("-quantity")
        .values("pk", "side", "quantity")
        .first()
    )
    sign = 1 if row is not None and row["side"] == PositionSide.LONG else -1
    if row is None or row["quantity"] * sign != quantity:
        return HeldPosition(quantity)  # the position then is not the one held now
    protection = position_protection(position_id=row["pk"])
    return HeldPosition(
        quantity=quantity,
        position_id=row["pk"],
        stop=protection.stop,
        scale_ins=protection.scale_ins,
    )


def _plan_settings(strategy: Strategy) -> PlanSettings:
    return PlanSettings(
        opposite_signal=strategy.opposite_signal,
        scale_in=strategy.scale_in,
        max_scale_ins=strategy.max_scale_ins,
        trail_stop=strategy.trail_stop,
    )


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
    *,
    strategy: Strategy,
    decision: TickedDecision,
    last_close: Decimal,
    as_of: datetime,
    last_bar_open: datetime | None = None,
) -> SignalJudgement:
    """Run the signal checks on ``decision`` (prices already on the tick grid, ``last_close``
    in the instrument's currency) against the strategy's own position in its symbol as of
    ``as_of`` (tz-aware UTC; other strategies on the account are the order step's conflict
    policy).

    First the position plan (``position_plan``: open, close, reverse, scale-in, trail or
    nothing, the model's intent checked against the position), then by plan:
    - HOLD: no check but the plan's (a trail, or why the stop is kept);
    - close: confidence (and an entry when the strategy closes with a limit); not sized —
      the whole position is closed;
    - open, reverse, scale-in: price presence and order, reward/risk, confidence, entry
      distance and the sized quantity (a reverse sized as if flat; a scale-in with the
      position counted toward the position limit).
    While the account's trading state is ``reducing`` (``apps.trading.trading_state``) a
    reverse only closes and an open or scale-in fails the ``trading_state`` check; a
    ``halted`` state is the signal step's to apply (the signal is recorded, no order step).
    ``last_bar_open`` (tz-aware UTC), the open time of the newest bar the run saw: a signal
    that would trade (or trail) on bars older than the bar size and the exchange calendar
    allow at ``as_of`` fails the ``data_fresh`` check with the bar's age (``bars_staleness``),
    so a live run never trades on an old store; a past-dated run is judged at its as-of.
    Raises nothing for a bad decision: a failed check says what is wrong."""
    held = held_position(strategy=strategy, as_of=as_of)
    plan = position_plan(
        action=decision.action,
        intent=decision.intent,
        held=held,
        settings=_plan_settings(strategy),
        symbol=strategy.symbol.symbol,
        stop=decision.stop_loss,
        last_close=last_close,
    )
    stale = (
        bars_staleness(
            last_open=last_bar_open,
            as_of=as_of,
            bar_size=strategy.bar_size,
            trading_calendar=strategy.symbol.trading_calendar,
        )
        if last_bar_open is not None
        else ""
    )
    if decision.action == "HOLD":
        held_checks = [plan.check] if plan.check else []
        if stale and plan.action == TRAIL:
            held_checks.append(Check("data_fresh", False, stale))
        return SignalJudgement(held_checks, plan=plan)
    assert plan.check is not None
    checks = [plan.check]
    if not plan.check.passed:
        return SignalJudgement(checks, plan=plan)
    if stale:
        checks.append(Check("data_fresh", False, stale))
        return SignalJudgement(checks, plan=plan)
    trading = effective_trading_state(account_id=strategy.account_id)
    if trading.state == TradingState.REDUCING and plan.action == REVERSE:
        # Reducing: the reverse's close reduces and goes out; its new bracket would not.
        only_close = Check(
            "position_action", True, f"{checks[0].detail}; {trading.describe()}: close only"
        )
        plan = PositionPlan(CLOSE, only_close)
        checks = [only_close]
    elif trading.state == TradingState.REDUCING and plan.action in (OPEN, SCALE_IN):
        checks.append(Check("trading_state", False, f"{trading.describe()}: no new entry"))
        return SignalJudgement(checks, plan=plan)
    closing = _session_end_window(strategy, as_of)
    if closing and plan.action == REVERSE:
        # Inside the end-of-day window a reverse only closes: nothing new is carried overnight.
        only_close = Check("position_action", True, f"{checks[0].detail}; {closing}: close only")
        plan = PositionPlan(CLOSE, only_close)
        checks = [only_close]
    elif closing and plan.action in (OPEN, SCALE_IN):
        checks.append(Check("session_end_window", False, f"no new entry {closing}"))
        return SignalJudgement(checks, plan=plan)
    confidence = to_decimal(decision.confidence)
    if plan.action == CLOSE:
        checks.append(_confidence_check(confidence, strategy.min_confidence))
        if strategy.close_order_type == OrderType.LIMIT and decision.entry is None:
            checks.append(Check("prices_present", False, "a limit close needs an entry price"))
        return SignalJudgement(checks, plan=plan)
    entry, stop, target = decision.entry, decision.stop_loss, decision.take_profit
    checks += price_checks(action=decision.action, entry=entry, stop=stop, target=target)
    if not all(check.passed for check in checks):
        return SignalJudgement(checks, plan=plan)
    assert entry is not None and stop is not None and target is not None
    limits = TradeLimits(
        strategy.min_confidence, strategy.min_reward_risk, strategy.max_entry_deviation_pct
    )
    checks += trade_checks(
        entry=entry,
        stop=stop,
        target=target,
        confidence=confidence,
        last_close=last_close,
        limits=limits,
    )
    direction = 1 if decision.action == "BUY" else -1
    working = working_entry_quantity(
        strategy_id=strategy.pk, symbol_id=strategy.symbol_id, side=decision.action
    )
    counted = held.quantity * direction if plan.action == SCALE_IN else Decimal(0)
    sizing = _sizing(strategy, entry, stop, counted, working)
    checks.append(quantity_check(sizing, working))
    return SignalJudgement(checks, sizing, plan)


def _session_end_window(strategy: Strategy, as_of: datetime) -> str:
    """Why no new entry may open at ``as_of`` — the strategy closes its positions a set
    number of minutes before its exchange session ends (``close_before_session_end_min``) and
    ``as_of`` lies in that window — or "" when it may."""
    minutes = strategy.close_before_session_end_min
    calendar = strategy.symbol.trading_calendar
    if not minutes or not calendar:
        return ""
    end = session_close_due(calendar_name=calendar, minutes_before=minutes, now=as_of)
    if end is None:
        return ""
    return f"within {minutes} min of the session end at {end.isoformat()} (end-of-day close)"


def _confidence_check(confidence: Decimal, minimum: Decimal) -> Check:
    return Check(
        "confidence", confidence >= minimum, f"confidence {confidence} vs minimum {minimum}"
    )


def _price(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.00000001"))


def signal_create(
    *,
    run: Run,
    strategy: Strategy,
    decision: TickedDecision,
    checks: list[Check],
    position_action: str = "",
) -> Signal:
    """Record the run's signal: accepted when every check passed (HOLD needs none).

    ``decision`` is the decision on the tick grid (``apps.signals.checks.on_tick``); ``checks``
    is every check evaluated, kept on the signal; the failed ones become ``rejection_reasons``;
    ``position_action`` is what it does to the strategy's position (``PositionPlan.action``;
    kept only when the signal is accepted).
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
        intent=decision.intent,
        position_action="" if failed else position_action,
        status=SignalStatus.REJECTED if failed else SignalStatus.ACCEPTED,
        checks=[check.as_json() for check in checks],
        rejection_reasons=failed,
    )
    # the strategy, run and template are rows in hand (their existence and the one signal per
    # run are the database's constraints): validating them here cost four queries per run
    signal.full_clean(exclude=["strategy", "run", "prompt_template"])
    signal.save()
    return signal
