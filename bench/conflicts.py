"""The conflict policy's benchmark: the order step on a busy account.

``order_step_conflict_ms``: the order step's duration as lineage records it (the account's
conflict policy decided under the (account, symbol) lock with the facts read — every strategy's
open positions and working entries in the symbol —, the bracket created, sent to the paper
broker and polled once) while OTHER_STRATEGIES other strategies hold an open position in the
symbol on the same account. The policy is ``accumulate`` with an account max, the case that
sums every row. REPETITIONS runs after WARMUP; each run's bracket is cancelled afterwards
(outside the measure), so every run sees the same 200 positions and no working entry of its
own. The symbol has no bars: the limit entry stays working and nothing fills.

``order_conflict_place_ms``: the part of it the policy lives in, ``entry_place`` alone (one
transaction: the (account, symbol) lock, the facts read, the decision, the signal's check and
the pending bracket created), measured with ``time.perf_counter``; each bracket is withdrawn
unsent afterwards.
"""

import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings

from apps.analysis.services import prompt_template_save
from apps.lineage.models import Run, Step
from apps.lineage.services import run_create, run_start, step_record
from apps.orders.cancellation import order_cancel
from apps.orders.conflicts import bracket_withdraw, entry_place
from apps.orders.models import Order, OrderRole
from apps.orders.sizing import SizingResult
from apps.pipeline.context import RunContext
from apps.pipeline.steps import order as order_step
from apps.positions.models import PositionStatus, StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash

WARMUP = 5
REPETITIONS = 50
OTHER_STRATEGIES = 200
AS_OF = datetime(2020, 1, 10, tzinfo=UTC)
QUANTITY = Decimal(10)


def _setup() -> Strategy:
    """The bench account (paper, netting, accumulate up to 10^9 per symbol), its symbol, the
    200 other strategies each holding 10 long, and the measured strategy; idempotent."""
    symbol, _ = Symbol.objects.get_or_create(
        symbol="BENCHCF",
        sec_type="STK",
        currency="USD",
        defaults={"timezone": "America/New_York", "min_tick": Decimal("0.01")},
    )
    account, _ = Account.objects.update_or_create(
        name="bench conflicts",
        owner=None,
        defaults={
            "broker": "paper",
            "position_mode": "netting",
            "opposite_policy": "reject",
            "same_direction_policy": "accumulate",
            "max_position_per_symbol": Decimal(10**9),
        },
    )
    # The paper book checks buying power against the account's cash in the symbol's currency.
    AccountCash.objects.update_or_create(
        account=account, currency="USD", defaults={"starting_cash": Decimal(10**12)}
    )
    template = prompt_template_save(owner=None, name="bench-conflicts", body="{{ symbol.symbol }}")
    common = {
        "symbol": symbol,
        "account": account,
        "bar_size": "1 day",
        "prompt_template": template,
        "order_type": "LMT",
        "time_in_force": "GTC",
        "trading_mode": "paper",
    }
    others = [
        Strategy.objects.update_or_create(
            slug=f"bench-conflict-other-{index}",
            defaults={"name": f"bench conflict other {index}", **common},
        )[0]
        for index in range(OTHER_STRATEGIES)
    ]
    StrategyPosition.objects.filter(account=account, symbol=symbol).delete()
    StrategyPosition.objects.bulk_create(
        StrategyPosition(
            account=account,
            strategy=other,
            symbol=symbol,
            side="LONG",
            status=PositionStatus.OPEN,
            quantity=QUANTITY,
            average_cost=Decimal(100),
            entry_quantity=QUANTITY,
            entry_price=Decimal(100),
            opened_at=AS_OF,
        )
        for other in others
    )
    measured, _ = Strategy.objects.update_or_create(
        slug="bench-conflict-measured", defaults={"name": "bench conflict measured", **common}
    )
    # Earlier benches' runs (and their working entries) would count toward the facts.
    Run.objects.filter(strategy=measured).delete()
    return measured


def _accepted_signal(strategy: Strategy) -> Signal:
    """A new started run's accepted BUY signal: entry 100, stop 95, target 110."""
    run = run_create(strategy_id=strategy.pk, as_of=AS_OF)
    assert run_start(run=run)
    return Signal.objects.create(
        strategy=strategy,
        run=run,
        action="BUY",
        confidence=Decimal("0.8"),
        entry=Decimal(100),
        stop_loss=Decimal(95),
        take_profit=Decimal(110),
        status="accepted",
    )


def _order_step_ms(strategy: Strategy) -> float:
    """One run's order step with an accepted BUY signal; returns its recorded duration and
    cancels its bracket afterwards."""
    signal = _accepted_signal(strategy)
    run = signal.run
    ctx = RunContext(run=run, strategy=strategy)
    ctx.signal = signal
    ctx.sizing = SizingResult(QUANTITY, QUANTITY * 5, QUANTITY, QUANTITY, QUANTITY)
    with step_record(run=run, name="order", sequence=6, step_input={}) as recorder:
        order_step.run(ctx, recorder)
    step = Step.objects.get(run=run, name="order")
    if not step.output.get("conflict_check", {}).get("passed"):
        raise RuntimeError(f"the bench's entry was refused: {step.output}")
    order_cancel(order=Order.objects.get(run=run, role=OrderRole.ENTRY))
    assert step.duration_ms is not None
    return float(step.duration_ms)


def _place_ms(strategy: Strategy) -> float:
    """``entry_place`` for a new run's accepted BUY signal; its bracket is withdrawn after."""
    signal = _accepted_signal(strategy)
    started = time.perf_counter()
    placement = entry_place(
        run=signal.run, signal=signal, strategy=strategy, quantity=QUANTITY, broker_name="paper"
    )
    elapsed = time.perf_counter() - started
    if not placement.decision.allowed:
        raise RuntimeError(f"the bench's entry was refused: {placement.decision.detail}")
    bracket_withdraw(orders=placement.orders, reason="bench")
    return elapsed * 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run() -> dict[str, float]:
    """Return ``order_step_conflict_ms_p50``/``_p95`` and ``order_conflict_place_ms_p50``/
    ``_p95``."""
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    strategy = Strategy.objects.select_related("symbol", "account").get(pk=_setup().pk)
    samples = [_order_step_ms(strategy) for _ in range(WARMUP + REPETITIONS)]
    measured = samples[WARMUP:]
    placed = [_place_ms(strategy) for _ in range(WARMUP + REPETITIONS)][WARMUP:]
    return {
        "order_step_conflict_ms_p50": round(statistics.median(measured), 2),
        "order_step_conflict_ms_p95": round(_percentile(measured, 0.95), 2),
        "order_conflict_place_ms_p50": round(statistics.median(placed), 2),
        "order_conflict_place_ms_p95": round(_percentile(placed, 0.95), 2),
    }
