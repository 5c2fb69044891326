"""The end-of-day close: strategies with ``close_before_session_end_min`` set are flattened
that many minutes before their symbol's exchange session ends (openspec/specs/positions/
spec.md, "End-of-day close").

Every beat tick (``apps.orders.tasks.close_before_session_end``, every 60 s) calls
``end_of_day_closes(now=...)``: for each strategy with the setting whose symbol has an
exchange calendar (``Symbol.trading_calendar``), when ``now`` is inside the last N minutes of
that day's session (``apps.symbols.calendars.session_close_due``: the calendar's actual close,
early closes included) and the strategy holds an open position or has a working order, it
calls ``positions_close_all(account=strategy.account, strategy=strategy, kind="end_of_day")``
— its working entries are cancelled, its open positions closed with market exits.

Once per strategy and session: the close-all's umbrella ``PositionAction`` (kind
``end_of_day``, the strategy, ``detail["scope"]``) made inside the window and ``done`` marks the
session done, so later ticks in the same window do nothing new (a position the strategy opens
after that stays until its stop, target or the next session's close). A ``failed`` one (a
broker that could not be reached) is tried again on the next tick: that is safe, because
``positions_close_all`` never sends a second close of a position whose close is working or
waiting for the retry pass. Two ticks never work on one
strategy at once (a PostgreSQL session advisory lock per strategy). Other strategies of the
account — with their GTC stops and targets — are not touched: IBKR itself cancels only DAY
orders at the session end, and so does the paper broker.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q

from apps.orders.models import (
    ACTIVE_ORDER_STATUSES,
    Order,
    OrderReason,
    OrderStatus,
    PositionAction,
    PositionActionStatus,
)
from apps.orders.position_actions import positions_close_all
from apps.positions.models import PositionStatus, StrategyPosition
from apps.strategies.models import Strategy
from apps.symbols.calendars import calendar_timezone, session_close_due

# First key of the advisory lock pair (pg_try_advisory_lock(int, int)); the second is the
# strategy id. Arbitrary, distinct from any other use of advisory locks in the database.
LOCK_NAMESPACE = 0x5E0D


@dataclass
class EndOfDayReport:
    """What one tick did: the umbrella actions of the strategies it closed (ids), the
    strategies already closed for this session or busy in another tick (slugs), and one line
    per strategy that failed (the close-all records the details on its action)."""

    closed: list[int] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def end_of_day_note(*, minutes_before: int, session_close: datetime, calendar_name: str) -> str:
    """The close-all's note: "15 min before the session end at 16:00 America/New_York" — the
    close in the exchange's timezone (the calendar's)."""
    zone = calendar_timezone(calendar_name)
    local = session_close.astimezone(ZoneInfo(zone))
    return f"{minutes_before} min before the session end at {local:%H:%M} {zone}"


def _has_something_to_close(strategy: Strategy) -> bool:
    working = (OrderStatus.PENDING, *ACTIVE_ORDER_STATUSES)
    return (
        StrategyPosition.objects.filter(strategy=strategy, status=PositionStatus.OPEN).exists()
        or Order.objects.filter(strategy=strategy, status__in=working).exists()
    )


def _closed_this_session(
    strategy: Strategy, *, minutes_before: int, session_close: datetime
) -> bool:
    """Whether an end-of-day close-all of ``strategy`` was already done inside this session's
    window (its umbrella action: kind end_of_day, a ``scope``, ``done``, market time in the
    window)."""
    return PositionAction.objects.filter(
        Q(detail__has_key="scope"),
        kind=OrderReason.END_OF_DAY,
        status=PositionActionStatus.DONE,
        strategy=strategy,
        market_time__gte=session_close - timedelta(minutes=minutes_before),
        market_time__lt=session_close,
    ).exists()


def _try_lock(strategy_id: int) -> bool:
    """A session-level PostgreSQL advisory lock per strategy (two beat ticks never close one
    strategy at once); elsewhere (SQLite: one writer at a time) always granted."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, strategy_id])
        return bool(cursor.fetchone()[0])


def _unlock(strategy_id: int) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, strategy_id])


def _close_strategy(
    strategy: Strategy, *, now: datetime, session_close: datetime, report: EndOfDayReport
) -> None:
    minutes = strategy.close_before_session_end_min or 0
    if _closed_this_session(strategy, minutes_before=minutes, session_close=session_close):
        report.already_done.append(strategy.slug)
        return
    if not _has_something_to_close(strategy):
        return
    note = end_of_day_note(
        minutes_before=minutes,
        session_close=session_close,
        calendar_name=strategy.symbol.trading_calendar,
    )
    result = positions_close_all(
        account=strategy.account,
        strategy=strategy,
        kind=OrderReason.END_OF_DAY,
        market_time=now,
        note=note,
    )
    action = result.action
    action.detail = {**action.detail, "session_close": session_close.isoformat()}
    action.save(update_fields=["detail"])
    report.closed.append(action.pk)
    if result.errors:
        report.errors.append(f"{strategy.slug}: {'; '.join(result.errors)}")


def end_of_day_close(
    *, strategy: Strategy, now: datetime, session_close: datetime
) -> EndOfDayReport:
    """The end-of-day close-all of one ``strategy`` at ``now`` (tz-aware UTC, inside the
    window before ``session_close``), unless already done this session or nothing is held or
    working. For a backtest's hidden copy, whose runner walks simulated time and calls this at
    each session's window start (``end_of_day_closes`` skips copies). Returns what it did."""
    report = EndOfDayReport()
    _close_strategy(strategy, now=now, session_close=session_close, report=report)
    return report


def end_of_day_closes(*, now: datetime) -> EndOfDayReport:
    """One tick of the end-of-day close at ``now`` (tz-aware): close-all every strategy with
    ``close_before_session_end_min`` set whose symbol's session ends within that many minutes
    of ``now`` and which holds an open position or has a working order (module docstring).

    Strategies are considered whether active or not (a deactivated strategy may still hold a
    position), except a backtest's hidden copies (``backtest_of``: their positions live in a
    past window, not at ``now``); a symbol without a trading calendar never has a session
    end, so it is never closed. One strategy's failure (an unreachable broker) does not stop
    the others: it is reported in ``errors`` and recorded on its (failed) action, and the
    next tick in the window tries again; an exit whose sending failed in transit is left to
    the retry pass (``orders_retry``), never sent a second time. Returns what was done.
    """
    report = EndOfDayReport()
    strategies = (
        Strategy.objects.filter(
            close_before_session_end_min__isnull=False, backtest_of__isnull=True
        )
        .exclude(symbol__trading_calendar="")
        .select_related("symbol", "account")
        .order_by("pk")
    )
    for strategy in strategies:
        session_close = session_close_due(
            calendar_name=strategy.symbol.trading_calendar,
            minutes_before=strategy.close_before_session_end_min or 0,
            now=now,
        )
        if session_close is None:
            continue
        if not _try_lock(strategy.pk):
            report.busy.append(strategy.slug)
            continue
        try:
            _close_strategy(strategy, now=now, session_close=session_close, report=report)
        except Exception as error:  # one strategy's failure must not stop the others
            report.errors.append(f"{strategy.slug}: {error}")
        finally:
            _unlock(strategy.pk)
    return report
