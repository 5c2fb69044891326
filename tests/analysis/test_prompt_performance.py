"""Prompt performance: scores per template version from real runs on the shipped GOOG bars."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F

from apps.analysis.models import PromptScore, PromptTemplate
from apps.analysis.performance import prompt_performance_compute
from apps.analysis.selectors import prompt_scores_latest
from apps.analysis.services import prompt_template_save
from apps.analysis.tasks import prompt_performance
from apps.lineage.models import Run
from apps.orders.models import Order
from apps.pipeline.executor import strategy_run
from apps.positions.models import StrategyPosition
from apps.signals.models import Signal
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from celery_app.app import app as celery_app
from tests.factories import (
    PromptTemplateFactory,
    SignalFactory,
    StrategyFactory,
    StrategyPositionFactory,
)
from tests.factories import decision_answer as decision

pytestmark = pytest.mark.django_db
NOW = datetime(2024, 1, 2, 5, 30, tzinfo=UTC)
LOSING_SELL = datetime(2012, 6, 1, tzinfo=UTC)  # baseline SELL, stopped out
WINNING_SELL = datetime(2010, 1, 16, tzinfo=UTC)  # baseline SELL, take-profit filled
HOLD_DAY = datetime(2013, 3, 5, tzinfo=UTC)  # baseline HOLD; no GOOG bar after 2013-03-01
HOLD = decision(action="HOLD", entry=None, stop_loss=None, take_profit=None)


def run(strategy: Strategy, as_of: datetime) -> Run:
    done = strategy_run(strategy=strategy, as_of=as_of, trigger="manual")
    assert done.status == "succeeded", done.error_message
    return done


def fills(done: Run) -> dict[str, tuple[str, Decimal | None, Decimal]]:
    """role → (status, average fill price, realized P&L) of the run's bracket."""
    return {
        o.role: (o.status, o.avg_fill_price, o.realized_pnl) for o in Order.objects.filter(run=done)
    }


def positions(
    template: PromptTemplate,
) -> list[tuple[str, str, Decimal, Decimal, Decimal | None]]:
    """(status, outcome, realized P&L, initial risk, R) of the strategy positions opened by
    runs of ``template``, oldest first."""
    return list(
        StrategyPosition.objects.filter(prompt_template=template)
        .order_by("opened_at", "id")
        .values_list("status", "outcome", "realized_pnl", "initial_risk", "r_multiple")
    )


def score_of(scores: list[PromptScore], template: PromptTemplate) -> PromptScore:
    (score,) = [s for s in scores if s.template_id == template.pk]
    return score


def test_scores_per_template_version_checked_by_hand(
    goog: Symbol, llm_server: Any, django_assert_num_queries: Any
) -> None:
    # given "swing" v1: a baseline strategy's losing SELL and winning SELL …
    swing1 = prompt_template_save(
        owner=None, name="swing", body="{{ symbol.symbol }} {{ bars.last.close }}"
    )
    baseline = StrategyFactory.create(symbol=goog, prompt_template=swing1)
    loss = run(baseline, LOSING_SELL)
    # SELL 36 (floor(1000 / |580.86 − 607.98|)), filled at the next open, stopped out above
    assert fills(loss) == {
        "entry": ("filled", Decimal("571.78"), Decimal("0")),
        "take_profit": ("cancelled", None, Decimal("0")),
        "stop_loss": ("filled", Decimal("608.77"), Decimal("-1333.64")),  # −36.99 × 36 − 2 × $1
    }
    win = run(baseline, WINNING_SELL)
    # SELL 48 (floor(1000 / |580.00 − 600.82|)), covered at the 547.72 target
    assert fills(win) == {
        "entry": ("filled", Decimal("581.19"), Decimal("0")),
        "take_profit": ("filled", Decimal("547.72"), Decimal("1604.56")),  # 33.47 × 48 − 2
        "stop_loss": ("cancelled", None, Decimal("0")),
    }
    # … "swing" v2 (the strategy moved on): one HOLD …
    swing2 = prompt_template_save(owner=None, name="swing", body="v2 {{ symbol.symbol }}")
    baseline.prompt_template = swing2
    baseline.save()
    run(baseline, HOLD_DAY)
    # … and an older HOLD whose signal predates template tracking (not scored)
    untracked = run(baseline, datetime(2011, 3, 1, tzinfo=UTC))
    Signal.objects.filter(run=untracked).update(prompt_template=None)
    # and "scalp" v1 on a model: HOLD, a rejected BUY, a losing BUY and an unfilled BUY
    scalp = prompt_template_save(owner=None, name="scalp", body="{{ bars.last.close }}")
    model = StrategyFactory.create(symbol=goog, analyst="openai", prompt_template=scalp)
    llm_server.answer_with(HOLD, decision(confidence=0.3), decision())
    run(model, LOSING_SELL)
    assert Signal.objects.get(run=run(model, LOSING_SELL)).status == "rejected"
    buy = run(model, LOSING_SELL)
    # BUY 92 (floor(1000 / |580.86 − 570|)) at 571.80, stopped out at 569.99
    assert fills(buy)["stop_loss"] == ("filled", Decimal("569.99"), Decimal("-168.52"))
    llm_server.answer_with(decision(entry=806.19, stop_loss=790.0, take_profit=840.0))
    unfilled = run(model, HOLD_DAY)  # the last bar is 2013-03-01: nothing to fill on
    assert {o.status for o in Order.objects.filter(run=unfilled)} == {"submitted"}
    # and a template version that produced no signal
    PromptTemplateFactory.create(name="idle")

    # when the scores are computed (four queries: signal counts, filled entries, closed
    # positions, insert)
    with django_assert_num_queries(4):
        scores = prompt_performance_compute(now=NOW)

    # then each version that produced a tracked signal has one, computed at NOW
    assert {s.template_id for s in scores} == {swing1.pk, swing2.pk, scalp.pk}
    assert all(s.pk is not None and s.computed_at == NOW for s in scores)
    # the trades are the closed strategy positions opened by each version, one per bracket
    # here; R is over the risk taken at the entry fill: quantity × |fill price − stop|
    assert positions(swing1) == [
        ("closed", "win", Decimal("1604.56"), Decimal("942.24"), Decimal("1.7029")),  # 2010
        ("closed", "loss", Decimal("-1333.64"), Decimal("1303.20"), Decimal("-1.0234")),
    ]
    loss_r = -1333.64 / (36 * (607.98 - 571.78))  # −1.0234
    win_r = 1604.56 / (48 * (600.82 - 581.19))  # +1.7029
    # swing v1: 2 SELLs, both accepted and filled, one won and one lost
    s = score_of(scores, swing1)
    assert (s.signals, s.accepted_share, s.filled_share) == (2, 1.0, 1.0)
    assert (s.closed_trades, s.win_rate) == (2, 0.5)
    assert s.avg_r_multiple == pytest.approx((loss_r + win_r) / 2, abs=1e-4)
    assert s.avg_r_multiple == pytest.approx(0.33975)
    # swing v2: a HOLD is a signal, but not a trade proposal: no share to speak of
    s = score_of(scores, swing2)
    assert (s.signals, s.accepted_share, s.filled_share) == (1, None, None)
    assert (s.closed_trades, s.win_rate, s.avg_r_multiple) == (0, None, None)
    # scalp v1: 3 BUYs of 4 signals, 2 accepted, 1 of them filled and closed at a loss
    s = score_of(scores, scalp)
    assert (s.signals, s.accepted_share, s.filled_share) == (4, pytest.approx(2 / 3), 0.5)
    assert (s.closed_trades, s.win_rate) == (1, 0.0)
    # 92 bought at 571.80 with the stop at 570: risk 165.60
    assert positions(scalp) == [
        ("closed", "loss", Decimal("-168.52"), Decimal("165.60"), Decimal("-1.0176"))
    ]
    assert s.avg_r_multiple == pytest.approx(-1.0176)


def test_an_open_trade_is_filled_but_not_closed(goog: Symbol) -> None:
    # given a baseline SELL whose stop and target have not been reached yet: its position is
    # still open
    strategy = StrategyFactory.create(symbol=goog)
    done = run(strategy, LOSING_SELL)
    Order.objects.filter(run=done, role__in=["take_profit", "stop_loss"]).update(
        status="submitted", filled_quantity=0, realized_pnl=0
    )
    StrategyPosition.objects.filter(strategy=strategy).update(
        status="open", closed_at=None, quantity=F("entry_quantity"), exit_quantity=0,
        exit_price=None, realized_pnl=0, r_multiple=None, outcome="",
    )  # fmt: skip
    # when scored, then it counts as filled but not as a closed trade
    (score,) = prompt_performance_compute(now=NOW)
    assert (score.signals, score.accepted_share, score.filled_share) == (1, 1.0, 1.0)
    assert (score.closed_trades, score.win_rate, score.avg_r_multiple) == (0, None, None)


def test_scores_are_kept_as_history_and_the_latest_is_listed(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    run(strategy, LOSING_SELL)
    first = prompt_performance_compute(now=NOW - timedelta(days=1))
    run(strategy, WINNING_SELL)
    second = prompt_performance_compute(now=NOW)
    assert PromptScore.objects.count() == 2
    (latest,) = prompt_scores_latest()
    assert latest.pk == second[0].pk != first[0].pk
    assert (latest.signals, latest.win_rate) == (2, 0.5)


def test_latest_scores_are_one_per_version_ordered_by_name_then_newest_version() -> None:
    a1, a2 = (
        PromptTemplateFactory.create(name="a", version=1),
        PromptTemplateFactory.create(name="a", version=2),
    )
    b1 = PromptTemplateFactory.create(name="b", version=1)
    for template, days_ago in [(b1, 2), (b1, 0), (a1, 5), (a2, 3), (a2, 1)]:
        PromptScore.objects.create(
            template=template,
            computed_at=NOW - timedelta(days=days_ago),
            signals=days_ago,
            closed_trades=0,
        )
    latest = prompt_scores_latest()
    assert [(s.template.name, s.template.version, s.signals) for s in latest] == [
        ("a", 2, 1),
        ("a", 1, 5),
        ("b", 1, 0),
    ]


def test_command_computes_and_prints_a_table(goog: Symbol) -> None:
    strategy = StrategyFactory.create(
        symbol=goog,
        prompt_template=prompt_template_save(owner=None, name="swing", body="{{ as_of }}"),
    )
    run(strategy, LOSING_SELL)
    run(strategy, WINNING_SELL)
    out = StringIO()
    call_command("prompt_performance", "--compute", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "stored 1 score(s)"
    assert lines[1].split() == [
        "template", "owner", "signals", "accepted", "filled", "closed", "win", "rate", "avg",
        "R", "computed", "at", "(UTC)",
    ]  # fmt: skip
    assert lines[3].split()[:8] == ["swing@1", "-", "2", "100%", "100%", "2", "50%", "+0.34"]


def test_command_without_scores_says_so(db: None) -> None:
    out = StringIO()
    call_command("prompt_performance", stdout=out)
    assert out.getvalue() == "no prompt scores yet (run with --compute)\n"


def test_daily_task_stores_scores_and_is_on_the_beat_schedule(goog: Symbol) -> None:
    run(StrategyFactory.create(symbol=goog), LOSING_SELL)
    assert prompt_performance.apply().get() == 1
    assert PromptScore.objects.count() == 1
    entry = celery_app.conf.beat_schedule["prompt-performance"]
    assert entry["task"] == prompt_performance.name == "apps.analysis.tasks.prompt_performance"
    schedule = entry["schedule"]
    assert (schedule.minute, schedule.hour) == ({30}, {5})
    assert schedule.day_of_week == set(range(7))


def test_closed_trades_are_the_closed_positions_the_version_opened(db: None) -> None:
    # given a version with one accepted BUY signal of a strategy, and strategy positions its
    # runs opened (no bracket at all: the positions are the source of the trade figures)
    template = PromptTemplateFactory.create(name="pos")
    strategy = StrategyFactory.create(prompt_template=template)
    SignalFactory.create(run__strategy=strategy, prompt_template=template)
    closed = {"status": "closed", "quantity": 0, "closed_at": NOW, "prompt_template": template}
    StrategyPositionFactory.create(
        strategy=strategy, **closed, realized_pnl=Decimal(30), r_multiple=Decimal("1.5"),
        outcome="win",
    )  # fmt: skip
    StrategyPositionFactory.create(
        strategy=strategy, **closed, realized_pnl=Decimal(-10), r_multiple=Decimal("-0.5"),
        outcome="loss",
    )  # fmt: skip
    # a closed position without a stop (no R), an open one, and another version's
    StrategyPositionFactory.create(strategy=strategy, **closed, outcome="breakeven")
    StrategyPositionFactory.create(strategy=strategy, prompt_template=template)
    StrategyPositionFactory.create(
        strategy=StrategyFactory.create(), **{**closed, "prompt_template": None}, outcome="win"
    )

    (score,) = prompt_performance_compute(now=NOW)

    # 3 closed positions, 1 win; R over the 2 with a known risk: (1.5 − 0.5) / 2
    assert (score.signals, score.closed_trades) == (1, 3)
    assert score.win_rate == pytest.approx(1 / 3)
    assert score.avg_r_multiple == pytest.approx(0.5)
    assert score.filled_share == 0.0  # its signal has no filled entry order
