"""Every strategy trades one account: each owner's strategies (the ownerless ones: the
operator's) move to that owner's default paper account, with starting cash in USD and in every
currency their symbols trade in (``PAPER_BUYING_POWER`` each). Live strategies (which sent
orders to IBKR) move to an IBKR account per owner whose id staff must set (``unassigned-…``
until then; orders placed meanwhile are refused by the account check)."""

from django.conf import settings
from django.db import migrations


def _default_paper(Account, AccountCash, User, owner_id):
    account = Account.objects.filter(owner_id=owner_id, is_default=True).first()
    if account is None:
        username = User.objects.filter(pk=owner_id).values_list("username", flat=True).first()
        account = Account.objects.create(
            name=f"{username} paper" if username else "Paper",
            owner_id=owner_id,
            broker="paper",
            is_default=True,
        )
    return account


def forwards(apps, schema_editor):
    Strategy = apps.get_model("strategies", "Strategy")
    Account = apps.get_model("trading", "Account")
    AccountCash = apps.get_model("trading", "AccountCash")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    owners = sorted(
        set(Strategy.objects.values_list("owner_id", flat=True)), key=lambda o: (o is not None, o)
    )
    for owner_id in owners:
        mine = Strategy.objects.filter(owner_id=owner_id, account__isnull=True)
        paper = _default_paper(Account, AccountCash, User, owner_id)
        currencies = {"USD", *mine.values_list("symbol__currency", flat=True)}
        for currency in sorted(currencies):
            AccountCash.objects.get_or_create(
                account=paper,
                currency=currency,
                defaults={"starting_cash": settings.PAPER_BUYING_POWER},
            )
        mine.exclude(trading_mode="live").update(account=paper)
        if mine.filter(trading_mode="live").exists():
            live, _ = Account.objects.get_or_create(
                broker="ibkr",
                broker_account_id=f"unassigned-{owner_id or 'operator'}",
                defaults={"name": "IBKR (set the account id)", "owner_id": owner_id},
            )
            mine.filter(trading_mode="live").update(account=live)


class Migration(migrations.Migration):
    dependencies = [("strategies", "0008_strategy_account")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
