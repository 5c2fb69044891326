"""Orders belong to their strategy's account; the paper book's orders name the account's book
(``paper-<id>``) and the side a hedge-mode book holds them on (an entry BUY and its SELL exits
are LONG; an entry SELL and its BUY exits SHORT)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    PaperOrder = apps.get_model("orders", "PaperOrder")
    Strategy = apps.get_model("strategies", "Strategy")
    for strategy_id, account_id in Strategy.objects.values_list("pk", "account_id"):
        Order.objects.filter(run__strategy_id=strategy_id).update(account_id=account_id)
    refs = {}
    for ref, account_id, role, side in Order.objects.values_list(
        "client_order_ref", "account_id", "role", "side"
    ):
        long_side = (role == "entry") == (side == "BUY")
        refs[ref] = (f"paper-{account_id}", "LONG" if long_side else "SHORT")
    for paper in PaperOrder.objects.all():
        if paper.client_order_ref in refs:
            paper.account_key, paper.position_side = refs[paper.client_order_ref]
            paper.save(update_fields=["account_key", "position_side"])


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_order_account_strategy_position"),
        ("strategies", "0010_strategy_account_required"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
