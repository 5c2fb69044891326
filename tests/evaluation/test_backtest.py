"""Walk-forward backtests over the shipped GOOG daily bars with the baseline analyst."""

import io
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db.models import F
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.report import backtest_report, report_csv
from apps.evaluation.services import (
    VariantSpec,
    _slot_run_create,
    backtest_cancel,
    backtest_create,
    backtest_run,
    backtest_slots,
)
from apps.lineage.models import Artifact, Run, RunStatus, Step
from apps.marketdata.models import Bar
from apps.orders.models import Fill, Order
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import AccountCash
from tests.evaluation.helpers import daily_strategy
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=False)

START = datetime(2012, 3, 1, tzinfo=UTC)
END = datetime(2012, 6, 30, 23, 59, tzinfo=UTC)


def _outcome(backtest: Backtest) -> dict[str, Any]:
    """The figures that must not depend on ids or wall-clock times."""
    report = backtest_report(backtest)
    variant = report["variants"][0]
    keep = ("trades", "wins", "realized_pnl", "final_equity", "max_drawdown", "sharpe", "exposure")
    trades = [{k: v for k, v in t.items() if k != "opening_run_id"} for t in variant["trade_list"]]
    return {k: variant[k] for k in keep} | {"trade_list": trades, "equity": variant["equity"]}


def test_backtest_is_deterministic_and_isolated(goog: Symbol) -> None:
    strategy = daily_strategy(goog)
    default_cash = AccountCash.objects.get(account=strategy.account).starting_cash
    began = time.monotonic()
    first = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    elapsed = time.monotonic() - began
    assert first.status == BacktestStatus.DONE
    variant = first.variants.get(reference=False)
    slots = backtest_slots(strategy, START, END)
    assert variant.slots_done == variant.slots_total == len(slots) > 80
    runs = Run.objects.filter(strategy=variant.clone)
    assert runs.count() == len(slots)
    assert set(runs.values_list("trigger", flat=True)) == {"backtest"}
    assert sorted(runs.values_list("as_of", flat=True)) == slots
    # the variant trades its own paper account, never the owner's
    assert variant.account.pk != strategy.account.pk
    assert not Order.objects.filter(account=strategy.account).exists()
    assert AccountCash.objects.get(account=variant.account).starting_cash == default_cash
    # the paper clock: the account ends at the window's end, and no fill came from a bar
    # that had not closed by then (the last such bar opened 2012-06-29)
    assert variant.account.paper_clock == END
    fills = Fill.objects.filter(order__strategy=variant.clone)
    assert fills.exists()
    assert max(fills.values_list("executed_at", flat=True)) <= datetime(2012, 6, 29, tzinfo=UTC)
    report = backtest_report(first)
    json.dumps(report)  # serialisable
    row = report["variants"][0]
    assert row["trades"] > 0, row
    assert row["llm_calls"] == 0  # the baseline analyst calls no model
    assert report["buy_and_hold"]["final_equity"] is not None
    out = io.StringIO()
    report_csv(report, out)
    assert out.getvalue().splitlines()[0].startswith("label,trades,win_rate")
    assert len(out.getvalue().splitlines()) == 3

    # when every bar after the window's end changes (and some go), a second backtest
    later = Bar.objects.filter(symbol=goog, ts__gt=END)
    assert later.count() > 100
    later.update(open=F("open") * 2, high=F("high") * 3, low=F("low") / 2, close=F("close") * 2)
    later.filter(ts__gt=datetime(2012, 9, 1, tzinfo=UTC)).delete()
    second = backtest_run(backtest_create(strategy=strategy, start=START, end=END))

    # then it traded exactly as the first: deterministic, and blind to what came after
    assert _outcome(second) == _outcome(first)
    print(f"GOOG {len(slots)} daily slots: {elapsed:.1f} s")


SHORT_END = datetime(2012, 4, 30, 23, 59, tzinfo=UTC)


def test_a_stopped_backtest_resumes_without_any_slot_twice(goog: Symbol) -> None:
    strategy = daily_strategy(goog)
    slots = backtest_slots(strategy, START, SHORT_END)
    whole = backtest_run(backtest_create(strategy=strategy, start=START, end=SHORT_END))

    # given a backtest whose worker stopped after 10 slots, then after 5 more
    backtest = backtest_create(strategy=strategy, start=START, end=SHORT_END)
    assert backtest_run(backtest, max_slots=10).status == BacktestStatus.RUNNING
    assert backtest_run(backtest, max_slots=5).status == BacktestStatus.RUNNING
    variant = backtest.variants.get(reference=False)
    assert Run.objects.filter(strategy=variant.clone).count() == 15
    # and died right after creating the run of the 16th slot, before executing it
    _slot_run_create(variant.clone, slots[15])

    # when it is resumed
    resumed = backtest_run(backtest)

    # then every slot has exactly one run, each executed once, and it ends as the whole one
    assert resumed.status == BacktestStatus.DONE
    runs = Run.objects.filter(strategy=variant.clone)
    assert list(runs.order_by("scheduled_for").values_list("scheduled_for", flat=True)) == slots
    assert not runs.exclude(status__in=[RunStatus.SUCCEEDED]).exists()
    variant.refresh_from_db()
    assert variant.slots_done == variant.slots_total == len(slots)
    assert _outcome(resumed) == _outcome(whole)


def test_a_cancelled_backtest_stops_between_slots(goog: Symbol) -> None:
    backtest = backtest_create(strategy=daily_strategy(goog), start=START, end=END)

    def cancel_after_three(variant: Any, done: int, total: int) -> None:
        if done == 3:
            backtest_cancel(backtest=backtest)

    result = backtest_run(backtest, progress=cancel_after_three)

    assert result.status == BacktestStatus.CANCELLED
    variant = result.variants.get(reference=False)
    assert (variant.status, variant.slots_done) == ("cancelled", 3)
    assert Run.objects.filter(strategy=variant.clone).count() == 3
    assert backtest_run(result).status == BacktestStatus.CANCELLED  # stays stopped


def test_closed_market_slots_are_skipped_as_live_dispatch_skips_them(goog: Symbol) -> None:
    Symbol.objects.filter(pk=goog.pk).update(trading_calendar="XNYS")
    goog.refresh_from_db()
    strategy = daily_strategy(goog, skip_closed_market=True)
    slots = backtest_slots(strategy, START, END)
    days = {slot.date() for slot in slots}
    # Good Friday (2012-04-06) and Memorial Day (2012-05-28) are weekdays without a session
    assert datetime(2012, 4, 6).date() not in days
    assert datetime(2012, 5, 28).date() not in days
    assert datetime(2012, 4, 5).date() in days
    strategy.skip_closed_market = False
    assert len(backtest_slots(strategy, START, END)) == len(slots) + 2


def test_hidden_copies_are_not_listed_for_their_owner(goog: Symbol) -> None:
    owner = UserFactory.create(username="bt-owner")
    strategy = daily_strategy(goog, owner=owner)
    backtest = backtest_create(
        strategy=strategy,
        start=START,
        end=END,
        variants=[VariantSpec(label="a"), VariantSpec(label="b", llm_model="gpt-x")],
    )
    clones = Strategy.objects.filter(backtest_of=strategy)
    assert sorted(clones.values_list("slug", flat=True)) == [
        f"bt-{backtest.pk}-1",
        f"bt-{backtest.pk}-2",
    ]
    assert not clones.filter(is_active=True).exists()
    assert {c.account_id for c in clones}.isdisjoint({strategy.account_id})
    assert clones.get(slug=f"bt-{backtest.pk}-2").llm_model == "gpt-x"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=owner).key}")
    listed = client.get("/api/v1/strategies/").json()["results"]

    assert [row["slug"] for row in listed] == [strategy.slug]


def test_two_variants_share_their_chart_artifacts(goog: Symbol) -> None:
    strategy = daily_strategy(goog)
    end = datetime(2012, 3, 7, 23, 59, tzinfo=UTC)
    backtest = backtest_run(
        backtest_create(
            strategy=strategy,
            start=START,
            end=end,
            variants=[VariantSpec(label="a"), VariantSpec(label="b", llm_model="gpt-x")],
        )
    )
    assert backtest.status == BacktestStatus.DONE
    first, second = backtest.variants.order_by("pk")
    slots = backtest_slots(strategy, START, end)
    assert len(slots) >= 4

    def charts(variant: Any) -> dict[datetime, tuple[str, str, str]]:
        steps = Step.objects.filter(run__strategy=variant.clone, name="charts")
        return {
            step.run.as_of: (
                step.output["render"],
                *(step.artifacts.get(kind=kind).file.name for kind in ("chart_png", "chart_json")),
            )
            for step in steps.select_related("run")
        }

    a, b = charts(first), charts(second)
    assert sorted(a) == sorted(b) == slots
    assert {render for render, _, _ in a.values()} == {"rendered"}
    assert {render for render, _, _ in b.values()} == {"reused"}
    assert {slot: files[1:] for slot, files in a.items()} == {
        slot: files[1:] for slot, files in b.items()
    }
    # one stored PNG per slot, shared by both variants' runs
    pngs = Artifact.objects.filter(step__run__strategy__backtest_of=strategy, kind="chart_png")
    assert pngs.count() == 2 * len(slots)
    assert pngs.values("file").distinct().count() == len(slots)
