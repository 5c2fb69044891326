"""The prompt context of a strategy at a moment, for runs and for previews."""

from datetime import datetime
from typing import Any

from apps.analysis.context import build_prompt_context
from apps.marketdata.series import BarSeries
from apps.orders.position_asof import strategy_position_as_of
from apps.strategies.models import Strategy

RISK_FIELDS = (
    "capital",
    "risk_per_trade_pct",
    "max_position_quantity",
    "max_order_notional",
    "min_confidence",
    "min_reward_risk",
    "max_entry_deviation_pct",
)


def symbol_context(strategy: Strategy) -> dict[str, Any]:
    """The prompt's ``symbol`` dict of ``strategy``'s instrument (its real names)."""
    symbol = strategy.symbol
    return {
        "symbol": symbol.symbol,
        "sec_type": symbol.sec_type,
        "exchange": symbol.exchange,
        "currency": symbol.currency,
        "description": symbol.description,
    }


def prompt_context(
    *,
    strategy: Strategy,
    as_of: datetime,
    bars: BarSeries,
    indicators: dict[str, float | None],
    anonymise: bool = False,
) -> dict[str, Any]:
    """The documented context (apps/analysis/context.py) for ``strategy`` as of ``as_of``; its
    position is the strategy's as of ``as_of`` (``strategy_position_as_of``: no later fill).
    ``anonymise``: without ticker, names or dates (an anonymised evaluation run)."""
    symbol = strategy.symbol
    position = strategy_position_as_of(strategy_id=strategy.pk, symbol_id=symbol.pk, as_of=as_of)
    return build_prompt_context(
        symbol=symbol_context(strategy),
        bar_size=strategy.bar_size,
        as_of=as_of.isoformat(),
        bars=bars,
        indicators=indicators,
        position={key: float(value) for key, value in position.items()},
        risk={name: float(getattr(strategy, name)) for name in RISK_FIELDS},
        anonymise=anonymise,
    )
