"""Trading account services: the default paper account every user trades until told otherwise."""

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
