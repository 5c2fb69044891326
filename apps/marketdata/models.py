"""The local market-data store: OHLCV bars per symbol and bar size."""

from django.db import models


class BarSize(models.TextChoices):
    """Bar sizes, spelled as IBKR's ``reqHistoricalData`` barSizeSetting."""

    MIN_1 = "1 min"
    MIN_5 = "5 mins"
    MIN_15 = "15 mins"
    MIN_30 = "30 mins"
    HOUR_1 = "1 hour"
    HOUR_4 = "4 hours"
    DAY_1 = "1 day"
    WEEK_1 = "1 week"
    MONTH_1 = "1 month"


class Bar(models.Model):
    """One OHLCV bar; ``ts`` is the bar's open time in UTC, prices in the symbol's currency."""

    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.CASCADE, related_name="bars")
    bar_size = models.CharField(max_length=16, choices=BarSize.choices)
    ts = models.DateTimeField()
    open = models.DecimalField(max_digits=20, decimal_places=8)
    high = models.DecimalField(max_digits=20, decimal_places=8)
    low = models.DecimalField(max_digits=20, decimal_places=8)
    close = models.DecimalField(max_digits=20, decimal_places=8)
    volume = models.DecimalField(max_digits=24, decimal_places=8)

    class Meta:
        ordering = ["symbol", "bar_size", "ts"]
        constraints = [
            models.UniqueConstraint(fields=["symbol", "bar_size", "ts"], name="bar_unique_ts")
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} {self.bar_size} {self.ts:%Y-%m-%d %H:%M}"
