import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("strategies", "0009_strategy_default_accounts")]

    operations = [
        migrations.AlterField(
            model_name="strategy",
            name="account",
            field=models.ForeignKey(
                help_text="The trading account its orders go to and its positions are held in.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="strategies",
                to="trading.account",
            ),
        ),
    ]
