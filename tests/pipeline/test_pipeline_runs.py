"""Whole runs through the six steps on the shipped GOOG daily bars, with lineage checked."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from apps.lineage.models import Run
from apps.orders.models import Fill, Order, PaperOrder
from apps.pipeline.executor import strategy_run
from apps.signals.models import Signal
from apps.symbols.models import Symbol
from tests.factories import (
    PromptTemplateFactory,
    StrategyFactory,
    StrategyPositionFactory,
    UserFactory,
)
from tests.factories import decision_answer as decision
from tests.positions.helpers import net_position
from tests.strategies.live import grant_live_trading

pytestmark = pytest.mark.django_db
AS_OF = datetime(2012, 6, 1, tzinfo=UTC)  # last closed GOOG bar: 2012-05-31, close 580.86
STEP_NAMES = ["data", "indicators", "charts", "llm", "signal", "order"]


def run_with_answer(
    goog: Symbol,
    llm_server: Any,
    answer: dict[str, Any] | str,
    held_long: Decimal | None = None,
    **strategy_fields: Any,
) -> Run:
    """Run a new OpenAI-analyst strategy on ``goog`` whose model answers ``answer``; with
    ``held_long``, the strategy already holds that many long at 560."""
    llm_server.answer_with(answer)
    strategy = StrategyFactory.create(symbol=goog, analyst="openai", **strategy_fields)
    if held_long is not None:
        StrategyPositionFactory.create(
            strategy=strategy, quantity=held_long, average_cost=Decimal("560")
        )
    return strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")


def steps(run: Run) -> list[tuple[str, str]]:
    return [(step.name, step.status) for step in run.steps.order_by("sequence")]


def test_baseline_run_goes_through_six_steps_and_fills_on_later_bars(goog: Symbol) -> None:
    # given a baseline strategy on real GOOG bars
    strategy = StrategyFactory.create(symbol=goog, order_type="LMT", time_in_force="GTC")
    # when it runs as of 2012-06-01
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    # then every step succeeded and lineage links run → signal → orders → fills
    assert run.status == "succeeded", run.error_message
    assert steps(run) == [(name, "succeeded") for name in STEP_NAMES]
    signal = Signal.objects.get(run=run)
    assert signal.action == "SELL" and signal.status == "accepted"
    orders = {o.role: o for o in Order.objects.filter(run=run)}
    assert set(orders) == {"entry", "take_profit", "stop_loss"}
    assert orders["entry"].status == "filled"
    assert orders["entry"].fills.count() == 1
    assert {orders["take_profit"].status, orders["stop_loss"].status} == {"filled", "cancelled"}
    assert net_position(goog) == 0
    kinds = set(run.steps.get(name="charts").artifacts.values_list("kind", flat=True))
    assert kinds == {"chart_png", "chart_json"}
    png = run.steps.get(name="charts").artifacts.get(kind="chart_png").file.read()
    assert png.startswith(b"\x89PNG")


def test_data_step_sees_no_bar_after_as_of(goog: Symbol) -> None:
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual")
    output = run.steps.get(name="data").output
    assert output["last_ts"] == "2012-05-31T00:00:00+00:00"
    assert output["last_close"] == "580.86000000"


def test_hold_records_a_signal_and_skips_the_order(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(
        goog, llm_server, decision(action="HOLD", entry=None, stop_loss=None, take_profit=None)
    )
    assert run.status == "succeeded"
    assert steps(run)[-1] == ("order", "skipped")
    assert Signal.objects.get(run=run).action == "HOLD"
    assert not Order.objects.exists()


def test_openai_analyst_sends_the_chart_and_the_schema(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision())
    assert run.status == "succeeded", run.error_message
    request = llm_server.requests[0]
    parts = request["messages"][1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert request["response_format"]["type"] == "json_schema"
    assert "GOOG" in parts[0]["text"]
    llm = run.steps.get(name="llm")
    assert llm.output["usage"] == {"prompt_tokens": 120, "completion_tokens": 40}
    assert llm.output["is_language_model"] is True
    assert "sk-test-secret-key-123" not in str(llm.output) + str(llm.input)


def test_an_accepted_buy_becomes_a_bracket_sized_by_risk(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision())
    entry = Order.objects.get(run=run, role="entry")
    # floor(100000 × 1% / |580.86 − 570|) = floor(1000 / 10.86) = 92
    assert entry.quantity == Decimal("92")
    assert entry.side == "BUY"
    children = Order.objects.filter(parent=entry)
    assert {(c.role, c.side, c.order_type) for c in children} == {
        ("take_profit", "SELL", "LMT"),
        ("stop_loss", "SELL", "STP"),
    }
    assert len({c.oca_group for c in children}) == 1


@pytest.mark.parametrize(
    ("answer", "fields", "reason"),
    [
        (decision(stop_loss=590.0), {}, "BUY needs stop"),
        (decision(take_profit=585.0), {}, "reward/risk"),
        (decision(confidence=0.3), {}, "confidence 0.3"),
        (decision(entry=640.0, stop_loss=630.0, take_profit=660.0), {}, "from last close"),
        (decision(), {"capital": Decimal("500")}, "quantity 0"),
    ],
    ids=["stop-wrong-side", "reward-risk", "confidence", "entry-far", "sizes-to-zero"],
)
def test_rejections_complete_the_run_without_an_order(
    goog: Symbol, llm_server: Any, answer: dict[str, Any], fields: dict[str, Any], reason: str
) -> None:
    run = run_with_answer(goog, llm_server, answer, **fields)
    assert run.status == "succeeded"
    signal = Signal.objects.get(run=run)
    assert signal.status == "rejected"
    assert any(reason in text for text in signal.rejection_reasons), signal.rejection_reasons
    assert steps(run)[-1] == ("order", "skipped")
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def assert_failed_at(run: Run, step_name: str, error_type: str, text: str) -> None:
    assert run.status == "failed"
    last = run.steps.order_by("sequence").last()
    assert last is not None
    assert (last.name, last.status, last.error_type) == (step_name, "failed", error_type)
    assert text in last.error_message
    assert not Signal.objects.filter(run=run).exists() or step_name == "order"
    assert not PaperOrder.objects.exists() or step_name == "order"


@pytest.mark.parametrize("answer", ["I think you should buy", '{"action": "BUY"'])
def test_an_answer_that_is_not_json_fails_the_llm_step(
    goog: Symbol, llm_server: Any, answer: str
) -> None:
    run = run_with_answer(goog, llm_server, answer)
    assert_failed_at(run, "llm", "DecisionParseError", "not valid JSON")
    raw = run.steps.get(name="llm").artifacts.get(kind="raw_answer").file.read().decode()
    assert raw == answer


def test_an_answer_missing_a_field_fails_the_llm_step(goog: Symbol, llm_server: Any) -> None:
    answer = decision()
    del answer["stop_loss"]
    run = run_with_answer(goog, llm_server, answer)
    assert_failed_at(run, "llm", "DecisionParseError", "stop_loss: Field required")


def test_unknown_indicator_fails_the_indicators_step(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog, indicators=[{"name": "NOT_A_FUNCTION"}])
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    assert_failed_at(run, "indicators", "IndicatorSpecError", "unknown TA-Lib function")


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ({"name": "RSI", "params": {"period": 14}}, "unknown parameter"),
        ({"name": "RSI", "params": {"timeperiod": -5}}, "outside the range TA-Lib accepts"),
        ({"name": "RSI", "params": {"timeperiod": "x"}}, "whole number"),
    ],
)
def test_bad_indicator_parameters_fail_the_indicators_step(
    goog: Symbol, spec: dict[str, Any], text: str
) -> None:
    run = strategy_run(
        strategy=StrategyFactory.create(symbol=goog, indicators=[spec]),
        as_of=AS_OF,
        trigger="manual",
    )
    assert_failed_at(run, "indicators", "IndicatorSpecError", text)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ("Close {{ bars.last.close }} and {{ no_such_variable }}", "no_such_variable"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "__class__"),
        ("{{ symbol.__class__ }}", "__class__"),
        ("{% for x in range(1000000000) %}{% endfor %}", "PROMPT_RENDER_MAX_ITERATIONS"),
    ],
    ids=["undefined", "python-internals", "dunder", "huge-range"],
)
def test_unsafe_or_broken_templates_fail_the_llm_step(goog: Symbol, body: str, text: str) -> None:
    strategy = StrategyFactory.create(
        symbol=goog, prompt_template=PromptTemplateFactory.create(body=body)
    )
    run = strategy_run(strategy=strategy, as_of=AS_OF, trigger="manual")
    assert_failed_at(run, "llm", "PromptRenderError", text)


def test_bars_with_high_below_low_fail_the_data_step(goog: Symbol) -> None:
    bar = goog.bars.get(ts=datetime(2012, 5, 30, tzinfo=UTC))
    bar.high, bar.low = bar.low - 1, bar.high
    bar.save()
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual")
    assert_failed_at(run, "data", "BarValidationError", "high")


def test_a_bar_with_nan_fails_the_data_step(goog: Symbol) -> None:
    # The ORM refuses NaN, but another writer (or a provider bug) can store it in PostgreSQL.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE marketdata_bar SET close = 'NaN' WHERE symbol_id = %s AND ts = %s",
            [goog.pk, datetime(2012, 5, 30, tzinfo=UTC)],
        )
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=AS_OF, trigger="manual")
    assert_failed_at(run, "data", "BarValidationError", "not a finite number")


def test_too_few_bars_fail_the_data_step(goog: Symbol) -> None:
    run = strategy_run(
        strategy=StrategyFactory.create(symbol=goog),
        as_of=datetime(2004, 9, 1, tzinfo=UTC),
        trigger="manual",
    )
    assert_failed_at(run, "data", "NotEnoughBarsError", "at least 50 needed")


def test_a_broker_rejection_fails_the_order_step(
    goog: Symbol, llm_server: Any, settings: Any
) -> None:
    settings.PAPER_BUYING_POWER = Decimal("1000")
    run = run_with_answer(goog, llm_server, decision())
    assert_failed_at(run, "order", "BrokerRejectedError", "insufficient buying power")
    statuses = set(Order.objects.filter(run=run).values_list("status", flat=True))
    assert statuses == {"rejected"}
    assert "insufficient buying power" in Order.objects.filter(run=run)[0].error_message
    assert not PaperOrder.objects.exists() and not Fill.objects.exists()


def test_a_live_strategy_without_a_live_broker_sends_nothing(goog: Symbol, llm_server: Any) -> None:
    owner = grant_live_trading(UserFactory.create())  # past the live-trading permission
    run = run_with_answer(goog, llm_server, decision(), trading_mode="live", owner=owner)
    assert_failed_at(run, "order", "BrokerUnavailableError", "BROKER=ibkr")
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def test_prices_are_put_on_the_tick_grid_before_the_checks(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision(stop_loss=570.004, take_profit=600.006))
    signal = Signal.objects.get(run=run)
    assert (signal.stop_loss, signal.take_profit) == (Decimal("570.00"), Decimal("600.01"))
    stop = Order.objects.get(run=run, role="stop_loss")
    assert stop.stop_price == Decimal("570.00")


def test_a_stop_that_rounds_onto_the_entry_is_rejected(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision(stop_loss=580.855))
    signal = Signal.objects.get(run=run)
    assert signal.status == "rejected"
    assert any("BUY needs stop 580.86" in reason for reason in signal.rejection_reasons)


def test_confidence_is_checked_as_stored(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision(confidence=0.5996))
    signal = Signal.objects.get(run=run)
    assert (signal.confidence, signal.status) == (Decimal("0.600"), "accepted")


@pytest.mark.parametrize(
    ("as_of", "last_bar"),
    [
        (datetime(2012, 5, 31, 20, 30, tzinfo=UTC), "2012-05-31"),  # 16:30 New York, closed
        (datetime(2012, 5, 31, 19, 0, tzinfo=UTC), "2012-05-30"),  # 15:00, still trading
        (datetime(2012, 6, 3, 12, 0, tzinfo=UTC), "2012-06-01"),  # Sunday: Friday's session
    ],
)
def test_a_daily_bar_is_seen_once_its_exchange_session_has_closed(
    goog: Symbol, as_of: datetime, last_bar: str
) -> None:
    goog.trading_calendar = "XNAS"
    goog.save()
    run = strategy_run(strategy=StrategyFactory.create(symbol=goog), as_of=as_of, trigger="manual")
    assert run.steps.get(name="data").output["last_ts"] == f"{last_bar}T00:00:00+00:00"


def test_absurd_prices_are_rejected_not_a_failure(goog: Symbol, llm_server: Any) -> None:
    run = run_with_answer(goog, llm_server, decision(entry=25683974000000.0, stop_loss=-2.0))
    assert run.status == "succeeded", run.error_message
    signal = Signal.objects.get(run=run)
    assert (signal.status, signal.entry) == ("rejected", None)
    assert signal.rejection_reasons == ["entry 25683974000000.0 beyond 1e+12"]
    assert not Order.objects.exists()


def test_working_entries_count_toward_the_position_limit(goog: Symbol, llm_server: Any) -> None:
    # given a BUY entry of 41 still working (as of after the last stored bar nothing fills;
    # the answer sits at that bar's close 806.19), and a position limit of 60
    llm_server.answer_with(decision(entry=806.19, stop_loss=782.0, take_profit=870.69))
    strategy = StrategyFactory.create(
        symbol=goog, analyst="openai", max_position_quantity=Decimal("60")
    )
    after_last_bar = datetime(2013, 3, 4, tzinfo=UTC)
    first = strategy_run(strategy=strategy, as_of=after_last_bar, trigger="manual")
    entry = Order.objects.get(run=first, role="entry")
    assert (entry.status, entry.quantity) == ("submitted", Decimal("41"))
    # when the model says BUY again before it fills
    second = strategy_run(strategy=strategy, as_of=after_last_bar, trigger="manual")
    # then only the room left under the limit is bought: 60 − 41 working = 19
    signal = Signal.objects.get(run=second)
    check = next(c for c in signal.checks if c["name"] == "quantity_positive")
    assert check["detail"] == (
        "quantity 19 (risk 41, position limit 19, notional 1240; 41 in working entries)"
    )
    assert Order.objects.get(run=second, role="entry").quantity == Decimal("19")
