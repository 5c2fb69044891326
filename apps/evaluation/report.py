"""A backtest's report: per variant trades, P&L, risk and LLM usage, and buy-and-hold.

Money in the strategy symbol's currency, as strings with every digit (JSON); ratios as floats.
Every figure uses only bars closed by the window's ``end`` (a bar opened at ``ts`` counts when
``ts`` ≤ ``latest_closed_open(end, "1 day", calendar)``), so bars after the window change
nothing.

Definitions (per variant, over the window's trading days — the daily bars of the symbol whose
session date is on or after the first slot's date and that closed by ``end``):

- trades, wins, win rate, average R, realized P&L, commissions: closed strategy positions of
  the variant's strategy copy (``apps.positions.performance.trade_stats``); ``realized_pnl``
  sums every position's realized P&L (net of commissions), open ones' partial exits included.
- daily equity ``E_d`` = starting cash + Σ over the fills executed by day ``d`` (their session
  date ≤ d) of (−signed quantity × price − commission) + position quantity at d × close of d:
  open positions marked at the day's close (signed quantity: + buys, − sells).
- daily return ``r_d = E_d / E_{d−1} − 1`` (from the second day).
- Sharpe ratio = mean(r) / sample standard deviation(r) × √252, risk-free rate 0 (Sharpe,
  "The Sharpe Ratio", J. Portfolio Management 1994; √252 trading days a year, Lo, "The
  Statistics of Sharpe Ratios", FAJ 2002, for i.i.d. returns). None with fewer than two
  returns or no dispersion.
- Sortino ratio = mean(r) / downside deviation × √252, downside deviation = √(mean over all
  days of min(r_d, 0)²), target return 0 (Sortino & Price, "Performance Measurement in a
  Downside Risk Framework", J. Investing 1994). None without a negative return.
- maximum drawdown (money and fraction of the running peak) of ``E``
  (``apps.positions.performance.max_drawdown``).
- exposure = share of the trading days at whose close a position was held (0–1).
- LLM calls, prompt and completion tokens, cost (USD): the ``LlmCall`` rows of the copy's runs.

Buy-and-hold reference: the strategy's ``capital`` (what its sizing risks a share of, in the
symbol's currency: ``apps.signals.services`` sizes with ``Strategy.capital``, never with the
account's cash) all in at the close of the last daily bar closed by the first slot
(⌊capital ÷ close⌋ shares, no commission), held to the end; its equity is the variants'
starting cash + shares × (close − entry), on the same base as the variants' equity, so final
equity, P&L, drawdown, Sharpe and Sortino compare with theirs.

Baseline analyst reference: the rule-based baseline analyst (``apps.analysis.analysts``: no
model, no cost) traded over the same slots with the same capital, so a variant is judged
against a rule as well as against holding. Its row is the backtest's ``reference`` variant
(added by ``backtest_create`` when no variant uses the baseline analyst) — ``reference: true``
— or else the first compared variant on the baseline analyst (``reference: false``); None for
a backtest with neither (a replay). The summary lists it once, after the variants.

Leakage (issue 16, "Leakage guard"): a variant whose model's training-data cutoff
(``LlmEndpoint.knowledge_cutoff_of``, on the variant's endpoint) falls on or after the window's
first day may have seen the period it trades: its row has ``knowledge_cutoff`` (ISO date),
``leakage_warning`` ("the model may have seen this period (knowledge cutoff YYYY-MM-DD)") and
``leakage_span`` ({start, end}: the window's days up to the cutoff); else None. A rule-based
analyst has no model; a model on the operator's default endpoint (no row) has the cutoff
the setting ``LLM_KNOWLEDGE_CUTOFFS`` lists for it.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from itertools import pairwise
from typing import Any, TextIO

from django.conf import settings
from django.db.models import Count, Sum

from apps.analysis.models import LlmCall
from apps.evaluation.models import Backtest, BacktestVariant
from apps.evaluation.services import backtest_slots
from apps.marketdata.bar_sizes import latest_closed_open
from apps.marketdata.models import Bar, BarSize
from apps.orders.models import Fill
from apps.positions.models import PositionStatus, StrategyPosition
from apps.positions.performance import ClosedTrade, max_drawdown, trade_stats
from apps.strategies.models import AnalystKind, Strategy
from apps.symbols.calendars import session_date
from apps.symbols.models import Symbol
from apps.trading.models import AccountCash

ZERO = Decimal(0)
# A daily bar is stamped up to a day before its session date in UTC: read from 2 days earlier.
_DAYS_2 = timedelta(days=2)
TRADING_DAYS = 252
MONEY = Decimal("0.0001")


@dataclass(frozen=True)
class DayClose:
    """A trading day (exchange session date) and its daily bar's close."""

    day: date
    close: Decimal


def _day(symbol: Symbol, moment: datetime) -> date:
    return session_date(
        trading_calendar=symbol.trading_calendar, timezone=symbol.timezone, moment=moment
    )


def window_closes(symbol: Symbol, first: datetime, end: datetime) -> list[DayClose]:
    """The daily closes of ``symbol`` from the session of ``first`` (the first slot) to the
    last daily bar closed by ``end`` (tz-aware UTC), in day order; [] without daily bars."""
    last_open = latest_closed_open(end, BarSize.DAY_1, symbol.trading_calendar)
    start_day = _day(symbol, first)
    bars = Bar.objects.filter(
        symbol=symbol, bar_size=BarSize.DAY_1, ts__lte=last_open, ts__gte=first - _DAYS_2
    ).order_by("ts")
    return [
        DayClose(day, close)
        for day, close in ((_day(symbol, ts), c) for ts, c in bars.values_list("ts", "close"))
        if day >= start_day
    ]


def _returns(equity: Sequence[Decimal]) -> list[float]:
    return [float(today / yesterday - 1) for yesterday, today in pairwise(equity) if yesterday]


def sharpe(returns: Sequence[float]) -> float | None:
    """Annualised Sharpe ratio of daily ``returns`` (module docstring); None when undefined."""
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if variance <= 0:
        return None
    return round(mean / math.sqrt(variance) * math.sqrt(TRADING_DAYS), 4)


def sortino(returns: Sequence[float]) -> float | None:
    """Annualised Sortino ratio of daily ``returns`` against 0 (module docstring); None
    without a negative return."""
    if not returns:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return None
    return round(sum(returns) / len(returns) / downside * math.sqrt(TRADING_DAYS), 4)


def _risk(equity: list[Decimal]) -> dict[str, Any]:
    returns = _returns(equity)
    drawdown = max_drawdown(equity)
    return {
        "final_equity": str(equity[-1]) if equity else None,
        "max_drawdown": str(drawdown.amount),
        "max_drawdown_fraction": None if drawdown.fraction is None else str(drawdown.fraction),
        "sharpe": sharpe(returns),
        "sortino": sortino(returns),
    }


Cashflow = tuple[datetime, Decimal, Decimal]


def _equity(
    symbol: Symbol, fills: list[Cashflow], days: list[DayClose], cash: Decimal
) -> tuple[list[Decimal], int]:
    """Daily equity from ``cash`` (module docstring) and the number of days a position was
    held at the close; ``fills`` in time order as (executed at, signed quantity in units,
    cash change = −signed quantity × price − commission, money)."""
    equity: list[Decimal] = []
    held_days = 0
    quantity = ZERO
    index = 0
    for point in days:
        while index < len(fills) and _day(symbol, fills[index][0]) <= point.day:
            _, signed, cash_change = fills[index]
            quantity += signed
            cash += cash_change
            index += 1
        equity.append((cash + quantity * point.close).quantize(MONEY))
        held_days += 1 if quantity else 0
    return equity, held_days


def _starting_cash(variant: BacktestVariant) -> Decimal:
    """The variant account's starting cash in its symbol's currency (0 without any)."""
    cash: Decimal = (
        AccountCash.objects.filter(account=variant.account, currency=variant.clone.symbol.currency)
        .values_list("starting_cash", flat=True)
        .first()
        or ZERO
    )
    return cash


def _default_cutoff(model: str) -> date | None:
    """``model``'s cutoff on the operator's default endpoint (``LLM_KNOWLEDGE_CUTOFFS``);
    None when not listed or not an ISO date."""
    value = (settings.LLM_KNOWLEDGE_CUTOFFS or {}).get(model)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def leakage(strategy: Strategy, start: datetime, end: datetime) -> dict[str, Any]:
    """The leakage fields of a variant's row (module docstring) for ``strategy`` (the
    variant's copy) over the window [``start``, ``end``] (tz-aware UTC): ``knowledge_cutoff``,
    ``leakage_warning`` and ``leakage_span`` (None each when not known or not overlapping)."""
    fields: dict[str, Any] = {
        "knowledge_cutoff": None,
        "leakage_warning": None,
        "leakage_span": None,
    }
    if strategy.analyst != AnalystKind.OPENAI:
        return fields
    model = strategy.llm_model or settings.LLM_MODEL
    endpoint = strategy.llm_endpoint
    # no endpoint row: the operator's default endpoint
    cutoff = endpoint.knowledge_cutoff_of(model) if endpoint else _default_cutoff(model)
    if cutoff is None:
        return fields
    fields["knowledge_cutoff"] = cutoff.isoformat()
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    if cutoff >= first:
        fields["leakage_warning"] = (
            f"the model may have seen this period (knowledge cutoff {cutoff.isoformat()})"
        )
        fields["leakage_span"] = {
            "start": first.isoformat(),
            "end": min(cutoff, last).isoformat(),
        }
    return fields


def _variant_row(
    variant: BacktestVariant, days: list[DayClose], start: datetime, end: datetime
) -> dict[str, Any]:
    clone = variant.clone
    symbol = clone.symbol
    cash = _starting_cash(variant)
    positions = list(
        StrategyPosition.objects.filter(strategy=clone, opened_at__lte=end).order_by(
            "opened_at", "id"
        )
    )
    closed = [p for p in positions if p.status == PositionStatus.CLOSED]
    stats = trade_stats(
        ClosedTrade(p.realized_pnl, p.commission, p.r_multiple, p.outcome) for p in closed
    )
    fills: list[Cashflow] = []
    for at, quantity, price, commission, side in (
        Fill.objects.filter(order__strategy=clone, executed_at__lte=end)
        .order_by("executed_at", "id")
        .values_list("executed_at", "quantity", "price", "commission", "order__side")
    ):
        signed = quantity if side == "BUY" else -quantity
        fills.append((at, signed, -signed * price - commission))
    equity, held = _equity(symbol, fills, days, cash)
    llm = LlmCall.objects.filter(run__strategy=clone).aggregate(
        calls=Count("id"),
        prompt_tokens=Sum("prompt_tokens"),
        completion_tokens=Sum("completion_tokens"),
        cost=Sum("cost_usd"),
    )
    return {
        "variant": variant.position,
        "label": variant.label,
        "llm_model": clone.llm_model,
        "prompt_template_id": clone.prompt_template_id,
        "analyst": clone.analyst,
        "status": variant.status,
        "slots_done": variant.slots_done,
        "slots_total": variant.slots_total,
        "starting_cash": str(cash),
        "capital": str(clone.capital),
        **leakage(clone, start, end),
        "trades": stats.trades,
        "wins": stats.wins,
        "losses": stats.losses,
        "win_rate": None if stats.win_rate is None else str(stats.win_rate),
        "average_r": None if stats.average_r is None else str(stats.average_r),
        "realized_pnl": str(sum((p.realized_pnl for p in positions), ZERO)),
        "commission": str(sum((p.commission for p in positions), ZERO)),
        "open_positions": sum(1 for p in positions if p.status == PositionStatus.OPEN),
        **_risk(equity),
        "exposure": round(held / len(days), 4) if days else None,
        "llm_calls": llm["calls"],
        "prompt_tokens": llm["prompt_tokens"] or 0,
        "completion_tokens": llm["completion_tokens"] or 0,
        "llm_cost_usd": str(llm["cost"] or ZERO),
        "trade_list": [
            {
                "side": p.side,
                "opened_at": p.opened_at.isoformat(),
                "closed_at": p.closed_at.isoformat() if p.closed_at else None,
                "entry_price": None if p.entry_price is None else str(p.entry_price),
                "exit_price": None if p.exit_price is None else str(p.exit_price),
                "quantity": str(p.entry_quantity),
                "realized_pnl": str(p.realized_pnl),
                "r_multiple": None if p.r_multiple is None else str(p.r_multiple),
                "outcome": p.outcome,
                "opening_run_id": p.opening_run_id,
            }
            for p in positions
        ],
        "equity": [
            {"day": point.day.isoformat(), "equity": str(value)}
            for point, value in zip(days, equity, strict=True)
        ],
    }


def buy_and_hold(
    symbol: Symbol, first: datetime, days: list[DayClose], cash: Decimal, capital: Decimal
) -> dict[str, Any]:
    """The buy-and-hold reference row (module docstring): ``capital`` (the strategy's, in the
    symbol's currency) all in at the close of the last daily bar closed by ``first`` (the first
    slot, tz-aware UTC), equity on ``cash`` (the variants' starting cash) over ``days``."""
    last_open = latest_closed_open(first, BarSize.DAY_1, symbol.trading_calendar)
    entry = (
        Bar.objects.filter(symbol=symbol, bar_size=BarSize.DAY_1, ts__lte=last_open)
        .order_by("-ts")
        .values_list("close", flat=True)
        .first()
    )
    quantity = (capital / entry).to_integral_value(ROUND_FLOOR) if entry else ZERO
    equity = [(cash + quantity * (d.close - (entry or ZERO))).quantize(MONEY) for d in days]
    return {
        "variant": None,
        "label": "buy and hold",
        "starting_cash": str(cash),
        "capital": str(capital),
        "entry_price": None if entry is None else str(entry),
        "quantity": str(quantity),
        "unrealized_pnl": str(equity[-1] - cash) if equity else "0",
        "realized_pnl": "0",
        "trades": 0,
        **_risk(equity),
        "exposure": 1.0 if quantity and days else 0.0,
        "equity": [
            {"day": point.day.isoformat(), "equity": str(value)}
            for point, value in zip(days, equity, strict=True)
        ],
    }


def backtest_report(backtest: Backtest) -> dict[str, Any]:
    """The report of ``backtest`` (module docstring) as a JSON-serialisable dict: the window,
    status, one row per compared variant (``variants``, with its trade list and daily equity),
    the baseline analyst reference row (``baseline_analyst``, None without one) and the
    buy-and-hold reference row (``buy_and_hold``)."""
    strategy = backtest.strategy
    symbol = strategy.symbol
    slots = backtest_slots(strategy, backtest.start, backtest.end)
    first = slots[0] if slots else backtest.start
    days = window_closes(symbol, first, backtest.end)
    variants = list(
        backtest.variants.select_related("clone__symbol", "clone__llm_endpoint", "account")
    )
    all_rows = [_variant_row(v, days, backtest.start, backtest.end) for v in variants]
    rows = [row for row, v in zip(all_rows, variants, strict=True) if not v.reference]
    references = [row for row, v in zip(all_rows, variants, strict=True) if v.reference]
    baselines = [row for row in rows if row["analyst"] == "baseline"]
    found = [*references, *baselines]
    baseline = {**found[0], "reference": bool(references)} if found else None
    cash = Decimal(all_rows[0]["starting_cash"]) if all_rows else ZERO
    # what the variants size against (their copies' capital; the strategy's without variants)
    capital = variants[0].clone.capital if variants else strategy.capital
    return {
        "backtest": backtest.pk,
        "strategy": strategy.slug,
        "symbol": symbol.symbol,
        "currency": symbol.currency,
        "start": backtest.start.isoformat(),
        "end": backtest.end.isoformat(),
        "status": backtest.status,
        "slots": len(slots),
        "trading_days": len(days),
        "anonymise": backtest.anonymise,
        "variants": rows,
        "baseline_analyst": baseline,
        "buy_and_hold": buy_and_hold(symbol, first, days, cash, capital),
    }


SUMMARY_COLUMNS = (
    "label",
    "trades",
    "win_rate",
    "realized_pnl",
    "average_r",
    "final_equity",
    "max_drawdown",
    "sharpe",
    "sortino",
    "exposure",
    "llm_calls",
    "prompt_tokens",
    "completion_tokens",
    "llm_cost_usd",
    "leakage_warning",
    "leakage_span",
)


def _flat(value: Any) -> Any:
    """A cell: a span {start, end} as "start..end", anything else as it is."""
    if isinstance(value, dict) and set(value) == {"start", "end"}:
        return f"{value['start']}..{value['end']}"
    return value


def summary_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row per compared variant, the baseline analyst's row when it is an added
    reference (a compared baseline variant is listed once, as a variant) and the buy-and-hold
    row, with ``SUMMARY_COLUMNS`` (a leakage span as "YYYY-MM-DD..YYYY-MM-DD")."""
    return [
        {column: _flat(row.get(column)) for column in SUMMARY_COLUMNS}
        for row in report_rows(report)
    ]


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a ``backtest_report`` dict in the order they are shown: the compared
    variants, the baseline analyst when it is an added reference (a compared baseline variant
    is already among the variants), buy-and-hold last."""
    baseline = report.get("baseline_analyst")
    references = [baseline] if baseline and baseline.get("reference") else []
    return [*report["variants"], *references, report["buy_and_hold"]]


def report_csv(report: dict[str, Any], out: TextIO) -> None:
    """Write the summary rows of ``report`` as CSV (header ``SUMMARY_COLUMNS``) to ``out``."""
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    writer.writerows(summary_rows(report))
