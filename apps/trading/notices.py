"""Notifications about the trading state: a change of an account's state tells its owner (none:
the operator) and members; a change of the global state tells every active user (it stops or
restarts everyone's trading). A backtest's account tells nobody."""

import logging

from django.contrib.auth.models import User
from django.db import transaction

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.trading.models import TradingStateChange

logger = logging.getLogger(__name__)


def trading_state_notify(change: TradingStateChange) -> None:
    """Notify ``trading_state_changed`` for ``change`` (see the module docstring). Never
    raises: the state is set whatever the notification does."""
    try:
        with transaction.atomic():
            account = change.account
            if account is None:
                users: list[int | None] = list(
                    User.objects.filter(is_active=True).values_list("pk", flat=True)
                )
                scope = "global"
            elif account.paper_clock is not None:
                return
            else:
                users = [account.owner_id, *account.members.values_list("pk", flat=True)]
                scope = f"account {account.name}"
            who = change.changed_by.get_username() if change.changed_by else change.source
            notify(
                NotificationEvent.TRADING_STATE_CHANGED,
                users=users,
                title=f"Trading {change.state} ({scope})",
                body=(
                    f"Trading state ({scope}) changed from {change.previous} to {change.state} "
                    f"by {who} ({change.source}): {change.reason}"
                ),
                key=f"trading-state:{change.pk}",
            )
    except Exception:
        logger.exception("trading-state notification of change %s", change.pk)
