"""A backtest variant's trades (round trips) and the daily equity and drawdown series of a
backtest's report, for the API and the browser app.

A trade is one strategy position of the variant's hidden strategy copy (``StrategyPosition``:
one lifetime of a position on one side, scale-ins and partial exits included), from its
opening to its closing fill. Prices in the symbol's currency, quantities in shares/units,
times tz-aware UTC. The run that opened it is the position's ``opening_run``; the run that
closed it is the run of the order whose fill last reduced it (a bracket's stop or target
belongs to the run that sent the bracket; a close or reverse to the run whose signal asked
for it; none for a person's or an end-of-day close without a run).

Series: the report's daily equity (``apps.evaluation.report``) with the drawdown of each day
= running peak of equity − equity (≥ 0, money) and its fraction of the running peak, as
``apps.positions.performance.max_drawdown`` measures the maximum of these.
"""

from decimal import Decimal
from typing import Any

from apps.evaluation.models import BacktestVariant
from apps.evaluation.report import report_rows
from apps.orders.models import Fill
from apps.positions.models import PositionSide, StrategyPosition

ZERO = Decimal(0)
FRACTION = Decimal("0.0001")


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def variant_trades(variant: BacktestVariant) -> list[dict[str, Any]]:
    """The trades of ``variant`` in opening order (then id), each a dict:

    ``position_id``; ``side`` (LONG/SHORT); ``status`` (open/closed); ``opened_at`` and
    ``closed_at`` (ISO 8601 UTC, ``closed_at`` None while open); ``entry_price`` and
    ``exit_price`` (volume-weighted averages of the entry and exit fills, decimal strings,
    None before any exit); ``quantity`` (the entry quantity) and ``exit_quantity``;
    ``realized_pnl`` and ``commission`` (money, net of commissions); ``r_multiple`` (Van
    Tharp's R, None without an initial risk); ``outcome`` (win/loss/breakeven, blank while
    open); ``opening_run_id`` and ``closing_run_id`` (None: no run, e.g. still open or closed
    by a person); ``exit_reason`` (the closing order's role, e.g. ``stop_loss``, or its
    reason for a lone exit order such as ``close``/``end_of_day``; blank while open)."""
    positions = list(
        StrategyPosition.objects.filter(strategy_id=variant.clone_id).order_by("opened_at", "id")
    )
    closing: dict[int | None, tuple[int | None, str]] = {}
    exits = (
        Fill.objects.filter(order__strategy_position__in=[p.pk for p in positions])
        .order_by("executed_at", "id")
        .values_list(
            "order__strategy_position_id",
            "order__strategy_position__side",
            "order__side",
            "order__run_id",
            "order__role",
            "order__reason",
        )
    )
    for position_id, position_side, order_side, order_run_id, role, reason in exits:
        reduces = (position_side == PositionSide.LONG) == (order_side == "SELL")
        if reduces:  # the last reducing fill wins
            closing[position_id] = (order_run_id, reason if role == "exit" else role)
    rows = []
    for p in positions:
        run_id, why = closing.get(p.pk, (None, ""))
        closed = p.closed_at is not None
        rows.append(
            {
                "position_id": p.pk,
                "side": p.side,
                "status": p.status,
                "opened_at": p.opened_at.isoformat(),
                "closed_at": p.closed_at.isoformat() if closed else None,  # type: ignore[union-attr]
                "entry_price": _text(p.entry_price),
                "exit_price": _text(p.exit_price),
                "quantity": str(p.entry_quantity),
                "exit_quantity": str(p.exit_quantity),
                "realized_pnl": str(p.realized_pnl),
                "commission": str(p.commission),
                "r_multiple": _text(p.r_multiple),
                "outcome": p.outcome,
                "opening_run_id": p.opening_run_id,
                "closing_run_id": run_id if closed else None,
                "exit_reason": why if closed else "",
            }
        )
    return rows


def drawdown_series(equity: list[dict[str, str]]) -> list[dict[str, str | None]]:
    """Daily points ``{"day", "equity", "drawdown", "drawdown_fraction"}`` from the report's
    ``[{"day": ISO date, "equity": money string}, …]``: drawdown = running peak − equity
    (money, ≥ 0), its fraction of the running peak (4 decimals; None when the peak is not
    positive)."""
    points: list[dict[str, str | None]] = []
    peak: Decimal | None = None
    for point in equity:
        value = Decimal(point["equity"])
        peak = value if peak is None or value > peak else peak
        down = peak - value
        points.append(
            {
                "day": point["day"],
                "equity": point["equity"],
                "drawdown": str(down),
                "drawdown_fraction": str((down / peak).quantize(FRACTION)) if peak > 0 else None,
            }
        )
    return points


def report_series(report: dict[str, Any]) -> dict[str, Any]:
    """The daily equity and drawdown of each variant and of buy-and-hold from a
    ``backtest_report`` dict: ``{"backtest", "currency", "series": [{"variant" (position;
    None for buy-and-hold), "label", "points": drawdown_series(...)}, …]}``, variants first
    in their order, then the baseline analyst reference, buy-and-hold last (``report_rows``)."""
    rows = report_rows(report)
    return {
        "backtest": report["backtest"],
        "currency": report["currency"],
        "series": [
            {
                "variant": row.get("variant"),
                "label": row["label"],
                "points": drawdown_series(row.get("equity", [])),
            }
            for row in rows
        ],
    }
