"""Notifications about positions: a reconciliation mismatch (the broker holds a quantity the
strategies' positions do not add up to) tells the account's owner (none: the operator) and
members, once when it is first flagged."""

import logging
from decimal import Decimal

from django.db import transaction

from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify
from apps.symbols.models import Symbol
from apps.trading.models import Account

logger = logging.getLogger(__name__)


def mismatch_notify(
    account: Account,
    symbol_id: int,
    side: str,
    broker_quantity: Decimal,
    strategy_quantity: Decimal,
) -> None:
    """Notify ``reconciliation_mismatch``: on ``account`` the broker holds ``broker_quantity``
    of ``symbol_id`` (shares/contracts, signed: short is negative) on ``side`` (long, short or
    net) where the strategies hold ``strategy_quantity``. Never raises."""
    if account.paper_clock is not None:
        return
    try:
        with transaction.atomic():
            symbol = Symbol.objects.filter(pk=symbol_id).values_list("symbol", flat=True).first()
            users = [account.owner_id, *account.members.values_list("pk", flat=True)]
            notify(
                NotificationEvent.RECONCILIATION_MISMATCH,
                users=users,
                title=f"Position mismatch on {account.name}: {symbol} {side}",
                body=(
                    f"Account {account.name}: the broker holds {broker_quantity:f} {symbol} "
                    f"({side}), the strategies {strategy_quantity:f}; "
                    f"{broker_quantity - strategy_quantity:f} unattributed. Nothing was changed: "
                    "a person decides."
                ),
            )
    except Exception:
        logger.exception("mismatch notification of account %s", account.pk)
