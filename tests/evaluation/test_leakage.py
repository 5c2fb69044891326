"""The leakage guard: anonymised backtests show the model no ticker and no date; a model's
knowledge cutoff marks the window it may have seen; buy-and-hold invests the strategy's
capital."""

import io
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from apps.analysis.anonymise import prompt_scrub
from apps.evaluation.models import Backtest, BacktestStatus
from apps.evaluation.report import backtest_report, report_csv
from apps.evaluation.services import backtest_create, backtest_run
from apps.lineage.models import Artifact, Run
from apps.lineage.services import run_create
from apps.strategies.models import Strategy
from apps.symbols.models import Symbol
from apps.trading.models import AccountCash
from tests.factories import (
    LlmEndpointFactory,
    PromptTemplateFactory,
    StrategyFactory,
    decision_answer,
)
from tests.llm_server import ScriptedLlmServer

pytestmark = pytest.mark.django_db(transaction=False)

START = datetime(2012, 3, 5, tzinfo=UTC)
END = datetime(2012, 3, 9, 23, 59, tzinfo=UTC)

# A template that names the instrument and the dates through every context key that has them,
# and in its own words too.
LEAKY_TEMPLATE = (
    "You trade GOOG (Alphabet Inc.) on {{ symbol.exchange }}: {{ symbol.symbol }} "
    "{{ symbol.description }} {{ bar_size }} as of {{ as_of }}; bars {{ bars.first_ts }} to "
    "{{ bars.last_ts }}, last {{ bars.last }}; recent {{ bars.recent }}; chart {{ chart }}; "
    "position {{ position }}; indicators {{ indicators }}. Remember March 5, 2012, "
    "5 Mar 2012, Mar 2012, 2012-03-05T21:00:00Z and the year 2011."
)
MONTHS = (
    "January|February|March|April|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
)
# May is also a word; as a month it comes with a day or year
MONTH = re.compile(rf"\b(?:{MONTHS})\b|\bMay\s+\d", re.IGNORECASE)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# the window's and the lookback's years, as numbers of their own (not inside a price)
YEARS = re.compile(r"(?<![\d.])(?:2011|2012)(?![\d.])")


def _leaks(text: str) -> list[str]:
    found = []
    for name in ("GOOG", "Alphabet", "NASDAQ"):
        if name.lower() in text.lower():
            found.append(name)
    found += ISO_DATE.findall(text) + MONTH.findall(text) + YEARS.findall(text)
    return found


def _openai_strategy(goog: Symbol, **fields: Any) -> Strategy:
    template = PromptTemplateFactory.create(body=LEAKY_TEMPLATE)
    values: dict[str, Any] = {
        "symbol": goog,
        "analyst": "openai",
        "prompt_template": template,
        "schedule_cron": "0 22 * * 1-5",
        "schedule_timezone": "UTC",
        "is_active": False,
    }
    return StrategyFactory.create(**(values | fields))


def _artifact_text(run: Run, kind: str) -> str:
    artifact = Artifact.objects.get(step__run=run, kind=kind)
    with artifact.file.open("rb") as handle:
        return bytes(handle.read()).decode()


def _sent_texts(requests: list[dict[str, Any]]) -> list[str]:
    """The text parts of every message of ``requests`` (the image is bytes)."""
    texts = []
    for request in requests:
        for message in request["messages"]:
            content = message["content"]
            parts = content if isinstance(content, list) else [{"type": "text", "text": content}]
            texts += [part["text"] for part in parts if part["type"] == "text"]
    return texts


def test_an_anonymised_backtest_shows_no_ticker_or_date_and_lineage_keeps_them(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    Symbol.objects.filter(pk=goog.pk).update(description="Alphabet Inc.", exchange="NASDAQ")
    goog.refresh_from_db()
    llm_server.answer_with(
        decision_answer(action="HOLD", entry=None, stop_loss=None, take_profit=None)
    )
    strategy = _openai_strategy(goog)

    # given the same strategy backtested plainly and anonymised over the same window
    plain = backtest_run(backtest_create(strategy=strategy, start=START, end=END))
    plain_requests = len(llm_server.requests)
    anonymised = backtest_run(
        backtest_create(strategy=strategy, start=START, end=END, anonymise=True)
    )
    assert plain.status == anonymised.status == BacktestStatus.DONE
    assert anonymised.anonymise and not plain.anonymise
    plain_runs = list(
        Run.objects.filter(strategy__in=[v.clone for v in plain.variants.filter(reference=False)])
    )
    runs = list(
        Run.objects.filter(
            strategy__in=[v.clone for v in anonymised.variants.filter(reference=False)]
        )
    )
    assert len(runs) == len(plain_runs) == 5
    assert all(run.anonymise for run in runs) and not any(r.anonymise for r in plain_runs)
    assert {run.status for run in runs} == {"succeeded"}

    # then the anonymised prompt text, what the model received and the chart JSON carry no
    # ticker, no name and no date
    assert len(llm_server.requests) - plain_requests == 5
    sent = _sent_texts(llm_server.requests[plain_requests:])
    for run in runs:
        prompt = _artifact_text(run, "prompt")
        chart = _artifact_text(run, "chart_json")
        assert _leaks(prompt) == [], prompt
        assert _leaks(chart) == []
        assert "ASSET" in prompt and "t-0" in prompt and "t-1" in prompt
        assert json.loads(chart)["layout"]["xaxis"]["type"] == "linear"
        assert json.loads(chart)["data"][0]["x"][-1] == 0
    for text in sent:
        assert _leaks(text) == [], text

    # and the llm step's lineage record keeps the originals
    for run in runs:
        record = run.steps.get(name="llm").output["anonymised"]
        assert record["symbol"]["symbol"] == "GOOG"
        assert record["symbol"]["description"] == "Alphabet Inc."
        assert record["as_of"] == run.as_of.isoformat()
        # t-0 is the last bar the run saw: the plain run of the same slot names it
        twin = next(r for r in plain_runs if r.as_of == run.as_of)
        assert f"to {record['offsets']['t-0']}, last" in _artifact_text(twin, "prompt")
        assert run.steps.get(name="llm").input["anonymise"] is True

    # while the plain backtest is unchanged: ticker, names and dates as before
    for run in plain_runs:
        prompt = _artifact_text(run, "prompt")
        assert "GOOG" in prompt and "Alphabet Inc." in prompt
        assert run.as_of.isoformat() in prompt
        assert ISO_DATE.search(_artifact_text(run, "chart_json"))
        assert "anonymised" not in run.steps.get(name="llm").output

    # and the anonymised chart is another render input: no PNG is shared with the dated chart
    keys = {r.steps.get(name="charts").output["render_key"] for r in runs}
    plain_keys = {r.steps.get(name="charts").output["render_key"] for r in plain_runs}
    assert len(keys) == 5 and not keys & plain_keys


def test_a_live_run_cannot_be_anonymised(goog: Symbol) -> None:
    strategy = StrategyFactory.create(symbol=goog)
    as_of = datetime(2012, 6, 1, tzinfo=UTC)
    for trigger in ("manual", "schedule", "api"):
        with pytest.raises(ValidationError, match="only backtest and replay runs"):
            run_create(strategy_id=strategy.pk, trigger=trigger, as_of=as_of, anonymise=True)
    # nor by a write that skips validation: the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        Run.objects.create(strategy=strategy, trigger="manual", as_of=as_of, anonymise=True)
    assert run_create(strategy_id=strategy.pk, trigger="replay", as_of=as_of, anonymise=True)


def test_the_scrub_replaces_names_and_dates_a_template_writes_itself() -> None:
    text = (
        "GOOG and goog, Alphabet inc. rose; GOOGL stays; on 2012-03-05 and 2012-03-05 21:00, "
        "March 5th, 2012, 5 Mar 2012, Sept. 2011; the price may rise"
    )
    assert prompt_scrub(text, symbol="GOOG", description="Alphabet Inc.") == (
        "ASSET and goog, ASSET rose; GOOGL stays; on [date] and [date], "
        "[date], [date], [date]; the price may rise"
    )
    # the bars' years standing alone, and slashed dates; never a number that holds them
    text = "Since 2011, in 2012. On 03/05/2012 at 2012.5 (1,2012 shares, 2012x, 20121) of 2013"
    assert prompt_scrub(text, symbol="GOOG", description="", years=[2011, 2012]) == (
        "Since [date], in [date]. On [date] at 2012.5 (1,2012 shares, 2012x, 20121) of 2013"
    )
    # a one-letter ticker is left to the context (replacing the word "A" would garble text)
    assert prompt_scrub("A rally", symbol="A", description="") == "A rally"


def test_the_command_anonymises_and_marks_a_window_the_model_may_have_seen(
    goog: Symbol, llm_server: ScriptedLlmServer
) -> None:
    # given an endpoint whose models' cutoffs are known: m-new saw until 2012-03-07, the others
    # until 2011
    endpoint = LlmEndpointFactory.create(
        base_url=llm_server.base_url,
        knowledge_cutoff=date(2011, 1, 1),
        knowledge_cutoffs={"m-new": "2012-03-07"},
    )
    strategy = _openai_strategy(goog, llm_endpoint=endpoint, llm_model="m-old")
    out, csv_path = io.StringIO(), "/dev/null"
    call_command(
        "backtest",
        strategy.slug,
        *("--start", "2012-03-05", "--end", "2012-03-09", "--anonymise"),
        *("--variant", "label=new,model=m-new", "--variant", "label=old"),
        *("--variant", "label=rules,analyst=baseline", "--llm-cache", "only"),
        *("--csv", csv_path),
        stdout=out,
    )
    backtest = Backtest.objects.get()
    assert backtest.anonymise
    assert "anonymised" in out.getvalue()
    assert set(
        Run.objects.filter(strategy__backtest_of=strategy).values_list("anonymise", flat=True)
    ) == {True}
    assert llm_server.requests == []  # cache `only`: no call

    # then only the variant whose model's cutoff falls in the window is marked, with the span
    rows = {row["label"]: row for row in backtest_report(backtest)["variants"]}
    warning = "the model may have seen this period (knowledge cutoff 2012-03-07)"
    assert rows["new"]["leakage_warning"] == warning
    assert rows["new"]["leakage_span"] == {"start": "2012-03-05", "end": "2012-03-07"}
    assert rows["old"]["knowledge_cutoff"] == "2011-01-01"
    assert rows["old"]["leakage_warning"] is None and rows["old"]["leakage_span"] is None
    assert rows["rules"]["knowledge_cutoff"] is None and rows["rules"]["leakage_warning"] is None
    # in the summary table and the CSV
    assert f"new: {warning}, over 2012-03-05..2012-03-07\n" in out.getvalue()
    table_row = next(line for line in out.getvalue().splitlines() if line.startswith("│ new "))
    assert table_row.endswith("│ 2012-03-05..2012-03-07 │")
    csv_out = io.StringIO()
    report_csv(backtest_report(backtest), csv_out)
    lines = csv_out.getvalue().splitlines()
    assert lines[0].endswith(",leakage_warning,leakage_span")
    assert lines[1].endswith(f",{warning},2012-03-05..2012-03-07")
    assert lines[2].endswith(",,")


def test_the_cutoff_after_the_window_covers_all_of_it(goog: Symbol) -> None:
    endpoint = LlmEndpointFactory.create(knowledge_cutoff=date(2023, 10, 1))
    strategy = _openai_strategy(goog, llm_endpoint=endpoint)
    row = backtest_report(backtest_create(strategy=strategy, start=START, end=END))["variants"][0]
    assert row["leakage_span"] == {"start": "2012-03-05", "end": "2012-03-09"}
    assert row["leakage_warning"].endswith("(knowledge cutoff 2023-10-01)")
    # an endpoint with no known cutoff marks nothing
    endpoint.knowledge_cutoff = None
    endpoint.save()
    row = backtest_report(backtest_create(strategy=strategy, start=START, end=END))["variants"][0]
    assert row["knowledge_cutoff"] is None and row["leakage_warning"] is None


def test_the_default_endpoints_models_have_the_cutoffs_of_the_setting(
    goog: Symbol, settings: Any
) -> None:
    settings.LLM_KNOWLEDGE_CUTOFFS = {"gpt-4o-mini": "2012-03-06"}
    strategy = _openai_strategy(goog, llm_model="gpt-4o-mini")
    assert strategy.llm_endpoint is None
    row = backtest_report(backtest_create(strategy=strategy, start=START, end=END))["variants"][0]
    assert row["leakage_span"] == {"start": "2012-03-05", "end": "2012-03-06"}
    # a model the setting does not list: unknown
    settings.LLM_KNOWLEDGE_CUTOFFS = {}
    row = backtest_report(backtest_create(strategy=strategy, start=START, end=END))["variants"][0]
    assert row["knowledge_cutoff"] is None and row["leakage_warning"] is None


def test_buy_and_hold_invests_the_strategys_capital_on_the_variants_cash(goog: Symbol) -> None:
    # given a strategy sizing against 10,000 on an account with 50,000 of starting cash
    strategy = StrategyFactory.create(
        symbol=goog,
        capital=Decimal("10000"),
        schedule_cron="0 22 * * 1-5",
        schedule_timezone="UTC",
        is_active=False,
    )
    AccountCash.objects.filter(account=strategy.account).update(starting_cash=Decimal("50000"))
    report = backtest_report(backtest_create(strategy=strategy, start=START, end=END))
    hold = report["buy_and_hold"]

    # the first slot is 2012-03-05 22:00 UTC; the last daily bar closed by then is
    # 2012-03-02's (close 621.25): ⌊10,000 ÷ 621.25⌋ = 16 shares (16 × 621.25 = 9,940;
    # 17 would be 10,561.25) — not ⌊50,000 ÷ 621.25⌋ = 80, the account's cash
    assert hold["entry_price"] == "621.25000000" and hold["quantity"] == "16"
    assert hold["capital"] == "10000.00" and hold["starting_cash"] == "50000.00"
    # the window's days closed by its end: 2012-03-05 … 03-08 (closes 614.25, 604.96, 606.80,
    # 607.14); equity = 50,000 + 16 × (close − 621.25)
    assert hold["equity"] == [
        {"day": "2012-03-05", "equity": "49888.0000"},  # 16 × −7.00 = −112.00
        {"day": "2012-03-06", "equity": "49739.3600"},  # 16 × −16.29 = −260.64
        {"day": "2012-03-07", "equity": "49768.8000"},  # 16 × −14.45 = −231.20
        {"day": "2012-03-08", "equity": "49774.2400"},  # 16 × −14.11 = −225.76
    ]
    assert hold["final_equity"] == "49774.2400" and hold["unrealized_pnl"] == "-225.7600"
    # from the peak 49,888.00 to 49,739.36
    assert Decimal(hold["max_drawdown"]) == Decimal("148.64")
    assert hold["max_drawdown_fraction"] == "0.0030"  # 148.64 ÷ 49,888 = 0.00298, 4 places
    # on the same base as the variant (no trade yet: its equity stays at the cash)
    assert report["variants"][0]["final_equity"] == "50000.0000"
    assert report["variants"][0]["capital"] == "10000.00"
