"""Notifications about LLM spend: a reached budget tells the strategy's owner (none: the
operator), once per budget and period (the next runs fail the same way until it resets)."""

import logging
from datetime import datetime

from django.db import transaction

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.strategies.models import Strategy

logger = logging.getLogger(__name__)


def budget_reached_notify(*, strategy: Strategy, use: tuple[str, str, datetime], why: str) -> None:
    """Notify ``budget_reached`` for ``strategy``: ``use`` is the budget's (scope ``strategy``
    or ``user``, period ``day`` or ``month``, the period's start, tz-aware UTC) and ``why``
    the llm step's reason. Never raises (the step fails with the reason anyway)."""
    scope, period, since = use
    whose = f"strategy:{strategy.pk}" if scope == "strategy" else f"user:{strategy.owner_id}"
    try:
        with transaction.atomic():
            notify(
                NotificationEvent.BUDGET_REACHED,
                users=[strategy.owner_id],
                title=f"LLM {period} budget reached ({scope}): {strategy.name}",
                body=f"Strategy {strategy.name}: {why}. Its runs fail at the llm step until "
                "the budget resets or is raised.",
                key=f"budget:{whose}:{period}:{since:%Y-%m-%dT%H:%M}",
            )
    except Exception:
        logger.exception("budget notification of strategy %s", strategy.pk)
