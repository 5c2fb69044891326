"""Trading account services: the default paper account every user trades until told otherwise,
new paper accounts and changes to an account's policies."""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from apps.trading.models import Account, AccountCash, BrokerKind

DEFAULT_PAPER_ACCOUNT_NAME = "Paper"


def account_default_for(*, owner: User | None) -> Account:
    """The owner's default paper account (None: the operator's), created when missing: the
    embedded paper broker, netting mode, ``PAPER_BUYING_POWER`` of starting cash in USD.

    Safe under concurrency: a second creator finds the first one's account."""
    existing = Account.objects.filter(owner=owner, is_default=True).first()
    if existing is not None:
        return existing
    name = DEFAULT_PAPER_ACCOUNT_NAME if owner is None else f"{owner.get_username()} paper"
    try:
        with transaction.atomic():
            account = Account.objects.create(
                name=name, owner=owner, broker=BrokerKind.PAPER, is_default=True
            )
            AccountCash.objects.create(
                account=account, currency="USD", starting_cash=settings.PAPER_BUYING_POWER
            )
    except IntegrityError:  # created meanwhile (owner None has no unique default: retry read)
        found = Account.objects.filter(owner=owner, is_default=True).first()
        if found is None:
            raise
        return found
    return account


def account_paper_create(
    *, owner: User, name: str, cash: dict[str, Decimal], **policies: Any
) -> Account:
    """Create a paper account (the embedded paper broker) owned by ``owner`` with starting
    cash per currency (``cash``: ISO code → amount ≥ 0; currencies are never added together)
    and the model's policy fields given in ``policies`` (``base_currency``, ``position_mode``,
    ``opposite_policy``, ``same_direction_policy``, ``max_position_per_symbol``, the triggers'
    limits ``daily_loss_limit`` and ``max_drawdown_pct``). Not the
    owner's default (``account_default_for`` makes that one). IBKR accounts are created by
    staff in the admin. Raises ``django.db.IntegrityError`` for a broken constraint."""
    with transaction.atomic():
        account = Account.objects.create(
            name=name, owner=owner, broker=BrokerKind.PAPER, is_default=False, **policies
        )
        AccountCash.objects.bulk_create(
            AccountCash(account=account, currency=currency, starting_cash=amount)
            for currency, amount in sorted(cash.items())
        )
    return account


def account_update(*, account: Account, values: dict[str, Any]) -> Account:
    """Change ``account``'s fields ``values`` (name, position mode, conflict policies, max
    position per symbol, the automatic triggers' limits) and save them; returns the account."""
    for field, value in values.items():
        setattr(account, field, value)
    account.save(update_fields=[*values, "updated_at"])
    return account
