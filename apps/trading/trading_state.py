"""The kill switch: trading states per account and globally, and what each lets go out.

``active``: everything. ``reducing``: only orders that reduce a position — exits (closes,
reverses' closes, end-of-day closes), stop-losses and take-profits — go out; entries (new
brackets, scale-ins, a reverse's new bracket) are refused with the reason. ``halted``: no order
goes out and no working order is modified; cancels still do, and runs still analyse and record
their signals. The global state and the account's combine: the more restrictive one applies
(Nautilus Trader's ``TradingState`` ACTIVE / REDUCING / HALTED, per trader there; per account
and platform-wide here).

A backtest's account (``Account.paper_clock`` set) trades simulated past time and follows only
its own state: a global halt stops real trading, not evaluation.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from apps.common.errors import SibylError
from apps.trading.models import (
    TRADING_STATE_SEVERITY,
    Account,
    TradingState,
    TradingStateChange,
)
from apps.trading.notices import trading_state_notify

# Order roles that reduce a position (``apps.orders.models.OrderRole`` values): they may go out
# while ``reducing``; an ``entry`` opens or adds and may not.
REDUCING_ROLES = frozenset({"exit", "stop_loss", "take_profit"})
SOURCES = ("api", "admin", "command", "trigger")


class TradingStateError(SibylError):
    """The trading state refuses what was asked (HTTP 409): the message names the state, its
    scope (global or the account) and the reason given when it was set."""

    http_status = 409


@dataclass(frozen=True)
class EffectiveState:
    """The state that applies to an account: ``state`` (a ``TradingState`` value), ``scope``
    (``global`` or ``account``: which of the two set it) and the ``reason`` given then."""

    state: str
    scope: str
    reason: str

    def describe(self) -> str:
        """ "trading halted (global): maintenance" — for errors, checks and lineage."""
        return f"trading {self.state} ({self.scope}): {self.reason}"


def global_trading_state() -> TradingStateChange | None:
    """The latest change of the global state, or None (never set: ``active``)."""
    return TradingStateChange.objects.filter(account__isnull=True).order_by("-id").first()


def effective_trading_state(*, account_id: int) -> EffectiveState:
    """The state applying to the account ``account_id``: the more restrictive of the global
    state and the account's own (ties: the global one), with the reason of whichever set it.
    A backtest's account (paper clock set) follows its own state only. Raises
    Account.DoesNotExist for an unknown id."""
    state, clock = Account.objects.values_list("trading_state", "paper_clock").get(pk=account_id)
    reason = _latest_reason(account_id) if state != TradingState.ACTIVE else ""
    own = EffectiveState(state, "account", reason)
    if clock is not None:
        return own
    latest = global_trading_state()
    if latest is None or latest.state == TradingState.ACTIVE:
        return own
    severity = TRADING_STATE_SEVERITY
    if severity[TradingState(latest.state)] >= severity[TradingState(own.state)]:
        return EffectiveState(latest.state, "global", latest.reason)
    return own


def _latest_reason(account_id: int) -> str:
    change = TradingStateChange.objects.filter(account_id=account_id).order_by("-id").first()
    return change.reason if change is not None else ""


def orders_refusal(*, account_id: int, roles: list[str]) -> str:
    """Why orders of these ``roles`` (``OrderRole`` values) may not go out for the account
    now, or "" when they may: halted refuses all; reducing refuses any ``entry``."""
    effective = effective_trading_state(account_id=account_id)
    if effective.state == TradingState.HALTED:
        return f"{effective.describe()}: no order goes out"
    if effective.state == TradingState.REDUCING and not set(roles) <= REDUCING_ROLES:
        return f"{effective.describe()}: only orders that reduce a position go out"
    return ""


def orders_allowed_check(*, account_id: int, roles: list[str]) -> None:
    """Raise TradingStateError when ``orders_refusal`` refuses these roles."""
    refusal = orders_refusal(account_id=account_id, roles=roles)
    if refusal:
        raise TradingStateError(refusal)


def trading_state_set(
    *,
    state: str,
    reason: str,
    source: str,
    account: Account | None = None,
    by: User | AnonymousUser | None = None,
) -> TradingStateChange:
    """Set the trading state of ``account`` (None: the global state) to ``state`` and record
    who (``by``; None for a trigger or a command), why (``reason``, required) and from where
    (``source``: api, admin, command or trigger). Setting the state it already has is recorded
    too (a fresh reason); the change is notified (``trading_state_notify``). Returns the
    change. Raises ValueError for an unknown state or source, or a blank reason."""
    if state not in TradingState.values:
        raise ValueError(f"unknown trading state {state!r}: one of {', '.join(TradingState)}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    if not reason.strip():
        raise ValueError("a trading state change needs a reason")
    user = by if isinstance(by, User) else None
    with transaction.atomic():
        if account is None:
            latest = global_trading_state()
            previous = latest.state if latest is not None else TradingState.ACTIVE
        else:
            locked = Account.objects.select_for_update().get(pk=account.pk)
            previous = locked.trading_state
            Account.objects.filter(pk=account.pk).update(trading_state=state)
            account.trading_state = state
        change = TradingStateChange.objects.create(
            account=account,
            state=state,
            previous=previous,
            reason=reason.strip(),
            source=source,
            changed_by=user,
        )
        trading_state_notify(change)
        return change
