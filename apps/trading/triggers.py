"""Automatic triggers on an account: its daily loss limit and its maximum drawdown halt it.

An account's limits are ``Account.daily_loss_limit`` (money, base currency) and
``Account.max_drawdown_pct`` (0–100); blank is off. They are checked on every monitor pass
(``apps.strategies.triggers.risk_triggers_check``, called at the end of
``apps.orders.monitor.orders_monitor``, right after the pass recorded the brokers' new fills).
A breached limit sets the account ``halted`` through ``trading_state_set`` with ``source``
``trigger``, nobody as ``changed_by`` and a reason naming the limit and the figures. Nothing
ever un-halts an account automatically: an operator resumes it.

Figures (``apps.positions.equity``): the account's equity in its base currency = its starting
cash in that currency + realized P&L + unrealized P&L of its open strategy positions at the last
stored price; positions in other currencies are left out (never converted).

- The trading day is the UTC calendar day (00:00–24:00 UTC). An account trades symbols of
  several exchanges (and an account has no time zone of its own), so one clock is used for all;
  a strategy's limits use the same day.
- Daily P&L = equity now − equity at the start of the day, the start being the last equity a
  check saw before the day began (the first check of the day when none was: the day's P&L then
  counts from the first check). It includes realized and unrealized P&L and the commissions.
- Drawdown = (high-water mark − equity) ÷ high-water mark, in percent; the high-water mark is
  the highest equity a check has seen, starting from the starting cash (a mark is kept per
  account, ``AccountEquityMark``). Without starting cash in the base currency the equity is
  P&L only and the drawdown limit is not checked (a percentage of a P&L peak means nothing).
- A trigger fires once: the check holds the account's row lock (``select_for_update``), so
  concurrent monitor passes check one after the other; a daily loss limit fires at most once a
  day, and a drawdown firing restarts the high-water mark from the equity at that moment, so an
  operator who resumes is not halted again by the same loss. An account already halted is not
  halted again (nothing recorded, the limit stays armed).
- Backtests: an account with a paper clock (a backtest's) is never checked — the limits
  protect real money in wall-clock time; backtests stay deterministic.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from apps.positions.equity import Equity, positions_equity
from apps.trading.models import (
    Account,
    AccountCash,
    AccountEquityMark,
    EquityMark,
    TradingState,
)
from apps.trading.trading_state import trading_state_set

logger = logging.getLogger(__name__)
HUNDRED = Decimal(100)
MONEY = Decimal("0.01")


class TriggerKind:
    """What fired: ``daily_loss``, ``drawdown`` or ``failed_runs``."""

    DAILY_LOSS = "daily_loss"
    DRAWDOWN = "drawdown"
    FAILED_RUNS = "failed_runs"


@dataclass(frozen=True)
class TriggerEvent:
    """One automatic trigger that fired: ``kinds`` (``TriggerKind`` values, several when
    limits breached together), ``scope`` (``account``: halted; ``strategy``: deactivated),
    the subject's id and name (account name or strategy slug), its ``account_id`` (the
    strategy's account for a strategy), the ``reason`` recorded and when (UTC)."""

    kinds: tuple[str, ...]
    scope: str
    subject_id: int
    subject: str
    account_id: int
    reason: str
    at: datetime


@dataclass
class TriggerReport:
    """What a pass of the triggers did: the ``events`` that fired and one line per subject
    whose check failed (``errors``; the other subjects are checked regardless)."""

    checked: int = 0
    events: list[TriggerEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def trigger_fired(event: TriggerEvent) -> None:
    """Announce a fired trigger once its transaction committed: logged as a warning. The
    people are told elsewhere: an account's halt by the trading state change's notice
    (``apps.trading.notices``), a strategy's deactivation by ``apps.strategies.notices``."""
    logger.warning(
        "Automatic trigger fired (%s) on %s %s: %s",
        ", ".join(event.kinds),
        event.scope,
        event.subject,
        event.reason,
    )


def _money(value: Decimal) -> str:
    return f"{value.quantize(MONEY):,}"


@dataclass(frozen=True)
class Breach:
    """A limit breached: its ``kind`` (``TriggerKind``) and the sentence naming the limit and
    the figures."""

    kind: str
    reason: str


def equity_mark_update(mark: EquityMark, *, equity: Equity, now: datetime, is_new: bool) -> None:
    """Record on ``mark`` (in memory) the ``equity`` seen at ``now`` (tz-aware UTC): a new
    mark (or one of another currency) starts with the day's start and the high-water mark at
    this equity (the mark at least the starting money); a later UTC day moves the day's start
    to the last equity seen before it; the high-water mark rises with the equity."""
    today = now.astimezone(UTC).date()
    value = equity.equity
    if is_new or mark.currency != equity.currency:
        mark.currency = equity.currency
        mark.day = today
        mark.day_start_equity = value
        mark.peak_equity = max(value, equity.starting)
        mark.loss_fired_on = None
    elif today > mark.day:
        mark.day = today
        mark.day_start_equity = mark.equity
    mark.peak_equity = max(mark.peak_equity, value)
    mark.equity = value
    mark.checked_at = now


def equity_limits_breached(
    mark: EquityMark,
    *,
    equity: Equity,
    daily_loss_limit: Decimal | None,
    max_drawdown_pct: Decimal | None,
) -> list[Breach]:
    """The limits ``mark`` (updated by ``equity_mark_update``) breaches: the daily loss when
    equity − the day's start equity ≤ −``daily_loss_limit`` (money; not again on a day it
    fired), the drawdown when (high-water mark − equity) ÷ high-water mark × 100 ≥
    ``max_drawdown_pct`` (only with starting money > 0). None limits are off."""
    breaches: list[Breach] = []
    currency = mark.currency
    pnl = mark.equity - mark.day_start_equity
    if daily_loss_limit is not None and mark.loss_fired_on != mark.day and -pnl >= daily_loss_limit:
        breaches.append(
            Breach(
                TriggerKind.DAILY_LOSS,
                f"daily loss limit {_money(daily_loss_limit)} {currency} reached: P&L since "
                f"{mark.day.isoformat()} 00:00 UTC is {_money(pnl)} {currency} (equity "
                f"{_money(mark.equity)}, at the day's start {_money(mark.day_start_equity)}; "
                f"realized + unrealized at the last price)",
            )
        )
    peak = mark.peak_equity
    if max_drawdown_pct is not None and equity.starting > 0 and peak > 0:
        drawdown = (peak - mark.equity) / peak * HUNDRED
        if drawdown >= max_drawdown_pct:
            breaches.append(
                Breach(
                    TriggerKind.DRAWDOWN,
                    f"max drawdown {max_drawdown_pct.normalize():f}% reached: equity "
                    f"{_money(mark.equity)} {currency} is {drawdown.quantize(MONEY)}% below "
                    f"its high-water mark {_money(peak)} {currency}",
                )
            )
    return breaches


def equity_breaches_consume(mark: EquityMark, breaches: list[Breach]) -> None:
    """Once ``breaches`` fired: the daily loss does not fire again that day, and the
    high-water mark restarts from the equity now (a further drawdown of the limit fires
    again)."""
    kinds = {breach.kind for breach in breaches}
    if TriggerKind.DAILY_LOSS in kinds:
        mark.loss_fired_on = mark.day
    if TriggerKind.DRAWDOWN in kinds:
        mark.peak_equity = mark.equity


def account_equity(*, account: Account) -> Equity:
    """The account's equity in its base currency (``apps.positions.equity``)."""
    starting = AccountCash.objects.filter(
        account_id=account.pk, currency=account.base_currency
    ).aggregate(total=Sum("starting_cash"))["total"]
    return positions_equity(
        positions=Q(account_id=account.pk),
        currency=account.base_currency,
        starting=starting or Decimal(0),
    )


def account_limits_check(*, account_id: int, now: datetime) -> TriggerEvent | None:
    """Check the account's daily loss and drawdown limits at ``now`` (tz-aware UTC) and halt
    it when one is breached (module docstring). Returns the event when it fired, else None
    (no limit set, a backtest's account, nothing breached, or already halted). Raises
    Account.DoesNotExist for an unknown id."""
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.paper_clock is not None:
            return None
        if account.daily_loss_limit is None and account.max_drawdown_pct is None:
            return None
        equity = account_equity(account=account)
        mark = AccountEquityMark.objects.filter(account_id=account.pk).first()
        is_new = mark is None
        if mark is None:
            mark = AccountEquityMark(account=account)
        equity_mark_update(mark, equity=equity, now=now, is_new=is_new)
        breaches = equity_limits_breached(
            mark,
            equity=equity,
            daily_loss_limit=account.daily_loss_limit,
            max_drawdown_pct=account.max_drawdown_pct,
        )
        event = None
        if breaches and account.trading_state != TradingState.HALTED:
            equity_breaches_consume(mark, breaches)
            reason = "automatic trigger: " + "; ".join(breach.reason for breach in breaches)
            trading_state_set(
                state=TradingState.HALTED, reason=reason, source="trigger", account=account
            )
            event = TriggerEvent(
                kinds=tuple(breach.kind for breach in breaches),
                scope="account",
                subject_id=account.pk,
                subject=account.name,
                account_id=account.pk,
                reason=reason,
                at=now,
            )
            transaction.on_commit(lambda: trigger_fired(event))
        mark.save()
    return event


def accounts_with_limits() -> list[int]:
    """Ids of the wall-clock accounts (no paper clock) with a daily loss or drawdown limit,
    by id."""
    return list(
        Account.objects.filter(paper_clock__isnull=True)
        .filter(Q(daily_loss_limit__isnull=False) | Q(max_drawdown_pct__isnull=False))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def accounts_limits_check(*, now: datetime, report: TriggerReport) -> None:
    """``account_limits_check`` for every account with a limit, adding to ``report``; one
    account whose check fails does not stop the others."""
    for account_id in accounts_with_limits():
        try:
            event = account_limits_check(account_id=account_id, now=now)
        except Exception as error:  # one failing account must not stop the others
            logger.exception("Account %s: limits check failed", account_id)
            report.errors.append(f"limits of account {account_id}: {type(error).__name__}: {error}")
            continue
        report.checked += 1
        if event is not None:
            report.events.append(event)
