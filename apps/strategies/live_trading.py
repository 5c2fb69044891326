"""Who may trade live: the one rule every face (API, admin, strategies file) and the order
step ask.

Live trading sends orders to the operator's real broker account (``BROKER=ibkr``), so it is a
permission the operator grants in the admin: ``strategies.trade_live`` (``Strategy.Meta``),
given to a user or a group; superusers hold every permission. Source of the rule: issue 12,
"Live trading is a permission", and ``openspec/specs/security/spec.md``.
"""

from django.contrib.auth.models import AnonymousUser, User

from apps.common.errors import SibylError
from apps.strategies.models import Strategy, TradingMode

TRADE_LIVE = "strategies.trade_live"


class LiveTradingNotAllowedError(SibylError):
    """A user without the ``strategies.trade_live`` permission tried to set, save, activate or
    run a live strategy, or a live strategy's owner does not (or no longer) hold it. The API
    answers 403."""

    http_status = 403


def may_trade_live(user: User | AnonymousUser | None) -> bool:
    """Whether ``user`` holds ``strategies.trade_live`` (directly, through a group, or as an
    active superuser); False for None, anonymous and inactive users (``User.has_perm``)."""
    return user is not None and user.has_perm(TRADE_LIVE)


def live_traders(*, user_ids: set[int]) -> set[int]:
    """Of the users ``user_ids``, the ids of those holding ``strategies.trade_live`` now
    (directly, through a group, or as superusers; active users only): one query, for the
    dispatcher's many due strategies at once."""
    if not user_ids:
        return set()
    holders = User.objects.with_perm(TRADE_LIVE, is_active=True, include_superusers=True)
    return set(holders.filter(pk__in=user_ids).values_list("pk", flat=True))


def live_trading_check(*, strategy: Strategy, actor: User | AnonymousUser | None) -> None:
    """Refuse a live ``strategy`` unless both the acting user and its owner may trade live.

    Input: the strategy as it would be saved, activated or run (a paper strategy always
    passes), and ``actor``: the user doing it (None: the system, e.g. the order step, where only
    the owner counts). Output: None. Raises LiveTradingNotAllowedError naming who lacks the
    ``strategies.trade_live`` permission; an ownerless live strategy is refused, since there is
    no trader on whose behalf its orders would go to the broker.
    """
    if strategy.trading_mode != TradingMode.LIVE:
        return
    if actor is not None and not may_trade_live(actor):
        raise LiveTradingNotAllowedError(
            f"live trading needs the {TRADE_LIVE} permission, which {actor} does not hold; "
            "an operator grants it in the admin"
        )
    owner = strategy.owner
    if owner is None:
        raise LiveTradingNotAllowedError(
            f"strategy {strategy.slug} is live but has no owner; a live strategy needs an "
            f"owner holding the {TRADE_LIVE} permission"
        )
    if owner != actor and not may_trade_live(owner):
        raise LiveTradingNotAllowedError(
            f"strategy {strategy.slug} is live but its owner {owner} does not hold the "
            f"{TRADE_LIVE} permission; an operator grants it in the admin"
        )
