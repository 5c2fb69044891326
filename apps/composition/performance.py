"""P&L attribution and performance: strategy positions joined with the bar store.

Read model over apps.positions (the positions), apps.marketdata (the marks), apps.trading (an
account's starting cash) and apps.strategies (a strategy's capital); so it lives in the
composition layer, which no app imports.

Every figure is per currency, the currency of the positions' symbols; currencies are never
added together. Money in that currency, R in R, fractions 0–1, days are exchange dates.

- ``realized_pnl``: Σ realized P&L of every position (closed, and the partial exits of open
  ones), net of commissions; ``commission``: Σ commissions of every position.
- ``unrealized_pnl``: Σ over open positions of quantity × (last − average cost) for a LONG,
  quantity × (average cost − last) for a SHORT, ``last`` the close of the symbol's latest
  stored bar day (the daily mark below on the last day with bars); an open position whose
  symbol has no bar is not marked (``unpriced_positions`` counts it). IBKR's average cost
  includes commissions, so unrealized is net of the entry commissions.
- trade statistics (trades, wins, win rate, average R) over closed positions
  (``apps.positions.performance``).
- equity curve: one point per calendar day from the day the first position opened to the
  later of the last day with a bar of one of the positions' symbols and the last day a
  position opened or closed. Equity on day d = starting equity + realized P&L booked up to d
  + unrealized P&L of the positions open at d's close marked at d's daily close. A closed
  position's realized P&L is booked on the day it closed; the partial exits of a still open
  position on the curve's last day (their dates are in the fills, not the position).
  A position is open at d's close when it opened on or before d and closed after d (one opened
  and closed on the same day never is). A still open position is marked with its quantity
  and average cost; a since-closed one, while it was open, with its entry quantity and entry
  price (its average cost is not kept after it closes) — partial exits before d are not
  replayed. The daily close of a symbol on d is the close of the last bar that day of the
  smallest bar size (1 min … 1 day) that has bars that day; without one, the latest earlier
  daily close; before any bar a position is marked at its cost (unrealized 0). Weekly and
  monthly bars are not used. A bar's day is its session date (``session_date``) for daily
  bars and the date in the symbol's timezone for intraday bars; a position's days likewise
  from its open and close times.
- drawdown per point and maximum drawdown (money and fraction of the running peak) of that
  equity series (``apps.positions.performance``). Starting equity: the strategy's capital for
  its symbol's currency (0 for another), an account's starting cash in that currency (0
  without one), 0 for prompt versions (their drawdown fraction is then of P&L peaks).

Each selector costs a constant number of queries: the positions, the bars from the first
position's open day (one pass over each symbol's bars) and the last bar before that day.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from apps.marketdata.models import Bar, BarSize
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.positions.performance import (
    ClosedTrade,
    MaxDrawdown,
    TradeStats,
    drawdowns,
    max_drawdown,
    trade_stats,
)
from apps.strategies.models import Strategy
from apps.symbols.calendars import session_date
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash

ZERO = Decimal(0)
MONEY_QUANTUM = Decimal("0.0001")

# Bar sizes that can give a daily close, smallest first (weekly and monthly bars cannot).
DAILY_SIZES: tuple[str, ...] = (
    BarSize.MIN_1,
    BarSize.MIN_5,
    BarSize.MIN_15,
    BarSize.MIN_30,
    BarSize.HOUR_1,
    BarSize.HOUR_4,
    BarSize.DAY_1,
)
_SIZE_RANK = {size: rank for rank, size in enumerate(DAILY_SIZES)}


@dataclass(frozen=True)
class EquityPoint:
    """One day of an equity curve: ``day`` (exchange date), ``equity`` and ``drawdown`` (the
    running peak minus equity, ≥ 0), both money in the curve's currency."""

    day: date
    equity: Decimal
    drawdown: Decimal


@dataclass(frozen=True)
class CurrencyPerformance:
    """The performance of a set of strategy positions in one ``currency`` (module docstring):
    closed-trade statistics, realized/unrealized P&L and commissions of every position, open
    and unpriced position counts, the equity curve from ``starting_equity`` and its maximum
    drawdown."""

    currency: str
    stats: TradeStats
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    commission: Decimal
    open_positions: int
    unpriced_positions: int
    starting_equity: Decimal
    max_drawdown: MaxDrawdown
    equity: list[EquityPoint] = field(default_factory=list)


@dataclass(frozen=True)
class PromptPerformance:
    """The performance of the positions opened by one prompt version (``template_id`` None:
    runs without a tracked template) and model (``llm_model``, blank for the baseline
    analyst), in one currency; ``template_name``/``template_version`` name the version."""

    template_id: int | None
    template_name: str
    template_version: int | None
    llm_model: str
    performance: CurrencyPerformance


def _day(moment: datetime, symbol: Symbol) -> date:
    """The exchange date of ``moment`` for ``symbol`` (a 00:00 UTC stamp is that UTC date)."""
    return session_date(trading_calendar="", timezone=symbol.timezone, moment=moment)


def _bar_day(ts: datetime, bar_size: str, symbol: Symbol) -> date:
    if bar_size == BarSize.DAY_1:
        return session_date(
            trading_calendar=symbol.trading_calendar, timezone=symbol.timezone, moment=ts
        )
    return ts.astimezone(ZoneInfo(symbol.timezone)).date()


@dataclass
class _Closes:
    """A symbol's daily closes in day order, and the last close before them (or None)."""

    days: list[date] = field(default_factory=list)
    closes: list[Decimal] = field(default_factory=list)
    before: Decimal | None = None

    @property
    def last(self) -> Decimal | None:
        return self.closes[-1] if self.closes else self.before


def _daily_closes(symbols: Sequence[Symbol], start: date) -> dict[int, _Closes]:
    """Per symbol id, its daily closes from ``start`` (two queries whatever the number of
    symbols or bars: the bars from ``start``, one pass per symbol; the last bar before it)."""
    by_id = {symbol.pk: symbol for symbol in symbols}
    result = {symbol_id: _Closes() for symbol_id in by_id}
    if not by_id:
        return result
    # A day's bars may be stamped up to a day before its date in UTC (local midnight east of
    # UTC): read a day earlier (a day before ``start`` only sets the mark ``start`` begins with).
    since = datetime.combine(start, time(0), tzinfo=UTC) - timedelta(days=1)
    bars = (
        Bar.objects.filter(symbol_id__in=by_id, bar_size__in=DAILY_SIZES, ts__gte=since)
        .order_by("symbol_id", "ts")
        .values_list("symbol_id", "bar_size", "ts", "close")
    )
    # per (symbol, day): (size rank, close) of the smallest size's latest bar so far
    best: dict[int, dict[date, tuple[int, Decimal]]] = defaultdict(dict)
    for symbol_id, bar_size, ts, close in bars.iterator(chunk_size=5000):
        day = _bar_day(ts, bar_size, by_id[symbol_id])
        rank = _SIZE_RANK[bar_size]
        current = best[symbol_id].get(day)
        if current is None or rank <= current[0]:
            best[symbol_id][day] = (rank, close)
    for symbol_id, per_day in best.items():
        for day in sorted(per_day):
            result[symbol_id].days.append(day)
            result[symbol_id].closes.append(per_day[day][1])
    earlier = (
        Bar.objects.filter(symbol_id__in=by_id, bar_size__in=DAILY_SIZES, ts__lt=since)
        .order_by("symbol_id", "-ts")
        .distinct("symbol_id")
        .values_list("symbol_id", "close")
    )
    for symbol_id, close in earlier:
        result[symbol_id].before = close
    return result


def _sign(side: str) -> int:
    return 1 if side == PositionSide.LONG else -1


def _unrealized(position: StrategyPosition, mark: Decimal | None, *, closed: bool) -> Decimal:
    """Unrealized P&L of ``position`` at ``mark`` (0 without a mark): a still open position
    with its quantity and average cost, a since-closed one with its entry quantity and price."""
    if mark is None:
        return ZERO
    if closed:
        quantity, cost = position.entry_quantity, position.entry_price or mark
    else:
        quantity, cost = position.quantity, position.average_cost
    return _sign(position.side) * quantity * (mark - cost)


def _curve(
    positions: Sequence[StrategyPosition], closes: dict[int, _Closes], starting: Decimal
) -> list[EquityPoint]:
    """The daily equity curve of ``positions`` (one currency) from ``starting`` equity."""
    if not positions:
        return []
    opened = {p.pk: _day(p.opened_at, p.symbol) for p in positions}
    closed = {p.pk: _day(p.closed_at, p.symbol) for p in positions if p.closed_at is not None}
    first = min(opened.values())
    last_bar_days = [closes[p.symbol_id].days[-1] for p in positions if closes[p.symbol_id].days]
    end = max([*opened.values(), *closed.values(), *last_bar_days])
    booked: dict[date, Decimal] = defaultdict(lambda: ZERO)
    starts: dict[date, list[StrategyPosition]] = defaultdict(list)
    for p in positions:
        booked[closed.get(p.pk, end)] += p.realized_pnl
        if p.pk not in closed or closed[p.pk] > opened[p.pk]:
            starts[opened[p.pk]].append(p)
    # per symbol: index of the next daily close not yet reached, and the current mark
    cursor = {symbol_id: 0 for symbol_id in {p.symbol_id for p in positions}}
    mark = {symbol_id: closes[symbol_id].before for symbol_id in cursor}
    active: dict[int, StrategyPosition] = {}  # open at the current day's close, by id
    realized = ZERO
    values: list[Decimal] = []
    days: list[date] = []
    day = first
    while day <= end:
        for symbol_id, index in cursor.items():
            series = closes[symbol_id]
            while index < len(series.days) and series.days[index] <= day:
                mark[symbol_id] = series.closes[index]
                index += 1
            cursor[symbol_id] = index
        active.update((p.pk, p) for p in starts.get(day, ()))
        for pk in [pk for pk in active if pk in closed and closed[pk] <= day]:
            del active[pk]
        realized += booked.get(day, ZERO)
        unrealized = sum(
            (_unrealized(p, mark[p.symbol_id], closed=p.pk in closed) for p in active.values()),
            ZERO,
        )
        values.append((starting + realized + unrealized).quantize(MONEY_QUANTUM))
        days.append(day)
        day += timedelta(days=1)
    return [
        EquityPoint(day, value, drop)
        for day, value, drop in zip(days, values, drawdowns(values), strict=True)
    ]


def _currency_performance(
    currency: str,
    positions: Sequence[StrategyPosition],
    closes: dict[int, _Closes],
    starting: Decimal,
) -> CurrencyPerformance:
    closed_positions = [p for p in positions if p.status == PositionStatus.CLOSED]
    open_positions = [p for p in positions if p.status == PositionStatus.OPEN]
    unrealized = ZERO
    unpriced = 0
    for p in open_positions:
        last = closes[p.symbol_id].last
        if last is None:
            unpriced += 1
        else:
            unrealized += _unrealized(p, last, closed=False)
    curve = _curve(positions, closes, starting)
    return CurrencyPerformance(
        currency=currency,
        stats=trade_stats(
            ClosedTrade(p.realized_pnl, p.commission, p.r_multiple, p.outcome)
            for p in closed_positions
        ),
        realized_pnl=sum((p.realized_pnl for p in positions), ZERO),
        unrealized_pnl=unrealized.quantize(MONEY_QUANTUM),
        commission=sum((p.commission for p in positions), ZERO),
        open_positions=len(open_positions),
        unpriced_positions=unpriced,
        starting_equity=starting,
        max_drawdown=max_drawdown([point.equity for point in curve]),
        equity=curve,
    )


def _closes_for(positions: Sequence[StrategyPosition]) -> dict[int, _Closes]:
    symbols = list({p.symbol_id: p.symbol for p in positions}.values())
    if not positions:
        return {}
    start = min(_day(p.opened_at, p.symbol) for p in positions)
    return _daily_closes(symbols, start)


def _by_currency(positions: Iterable[StrategyPosition]) -> dict[str, list[StrategyPosition]]:
    groups: dict[str, list[StrategyPosition]] = defaultdict(list)
    for p in positions:
        groups[p.symbol.currency].append(p)
    return dict(sorted(groups.items()))


def _positions(queryset: QuerySet[StrategyPosition]) -> list[StrategyPosition]:
    return list(queryset.select_related("symbol").order_by("opened_at", "id"))


def positions_performance(
    positions: Sequence[StrategyPosition], starting: dict[str, Decimal]
) -> list[CurrencyPerformance]:
    """The performance of ``positions`` (with their symbols loaded) per currency, ordered by
    currency; ``starting`` maps a currency to its starting equity (0 when absent). Two queries
    (the bars), none without positions."""
    closes = _closes_for(positions)
    return [
        _currency_performance(currency, group, closes, starting.get(currency, ZERO))
        for currency, group in _by_currency(positions).items()
    ]


def strategy_performance(strategy: Strategy) -> list[CurrencyPerformance]:
    """Performance of every position ``strategy`` ever held, per currency; starting equity is
    its ``capital`` in its symbol's currency. Four queries (symbol, positions, bars)."""
    positions = _positions(StrategyPosition.objects.filter(strategy=strategy))
    return positions_performance(positions, {strategy.symbol.currency: strategy.capital})


def account_performance(account: Account) -> list[CurrencyPerformance]:
    """Performance of every strategy position ever held on ``account``, per currency;
    starting equity is the account's starting cash in that currency (0 without one). Four
    queries (cash, positions, bars)."""
    starting = dict(
        AccountCash.objects.filter(account=account).values_list("currency", "starting_cash")
    )
    positions = _positions(StrategyPosition.objects.filter(account=account))
    return positions_performance(positions, starting)


def prompt_performance(strategies: QuerySet[Strategy]) -> list[PromptPerformance]:
    """Performance of the positions of ``strategies`` per prompt version (the version of the
    run that opened each), model and currency, from a starting equity of 0; ordered by
    template name, version, model and currency. Three queries whatever the number of
    versions (positions with their templates, bars)."""
    positions = list(
        StrategyPosition.objects.filter(strategy__in=strategies)
        .select_related("symbol", "prompt_template")
        .order_by("opened_at", "id")
    )
    closes = _closes_for(positions)
    groups: dict[tuple[int | None, str, str], list[StrategyPosition]] = defaultdict(list)
    for p in positions:
        groups[(p.prompt_template_id, p.llm_model, p.symbol.currency)].append(p)
    rows = []
    for (template_id, model, currency), group in groups.items():
        template = group[0].prompt_template
        rows.append(
            PromptPerformance(
                template_id=template_id,
                template_name=template.name if template else "",
                template_version=template.version if template else None,
                llm_model=model,
                performance=_currency_performance(currency, group, closes, ZERO),
            )
        )
    return sorted(
        rows,
        key=lambda r: (
            r.template_name,
            r.template_version or 0,
            r.llm_model,
            r.performance.currency,
        ),
    )
