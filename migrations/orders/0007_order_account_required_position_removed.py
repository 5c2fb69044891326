import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0006_order_accounts")]

    operations = [
        migrations.AlterField(
            model_name="order",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="trading.account",
            ),
        ),
        migrations.DeleteModel(name="Position"),
    ]
