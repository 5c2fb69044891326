"""Notifications about strategies: an automatic trigger that deactivated a strategy tells its
owner and the members of its account (the account's own halts are told by the trading state's
notice, ``apps.trading.notices``)."""

import logging

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.strategies.models import Strategy
from apps.trading.triggers import TriggerEvent, trigger_fired

logger = logging.getLogger(__name__)


def strategy_deactivated_notify(event: TriggerEvent) -> None:
    """Announce ``event`` (scope ``strategy``: the strategy was deactivated by an automatic
    trigger) — logged (``trigger_fired``) and notified as ``trading_state_changed`` to the
    strategy's owner and its account's owner and members. Runs after commit; never raises:
    the deactivation stands whatever the notification does."""
    trigger_fired(event)
    try:
        strategy = Strategy.objects.select_related("account").get(pk=event.subject_id)
        account = strategy.account
        users: list[int | None] = [strategy.owner_id]
        if account is not None:
            users += [account.owner_id, *account.members.values_list("pk", flat=True)]
        notify(
            NotificationEvent.TRADING_STATE_CHANGED,
            users=list(dict.fromkeys(users)),
            title=f"Strategy {event.subject} deactivated",
            body=f"Strategy {event.subject} was deactivated at {event.at:%Y-%m-%d %H:%M} UTC by "
            f"an automatic trigger ({', '.join(event.kinds)}): {event.reason}",
            key=f"strategy-deactivated:{event.subject_id}:{event.at.isoformat()}",
        )
    except Exception:
        logger.exception("deactivation notification of strategy %s", event.subject_id)
