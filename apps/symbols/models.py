"""Instruments Sibyl can trade, cached from the broker (conid) or declared by hand."""

from decimal import Decimal

from django.db import models


class SecType(models.TextChoices):
    STOCK = "STK"
    FOREX = "CASH"
    CRYPTO = "CRYPTO"
    FUTURE = "FUT"
    INDEX = "IND"


class Symbol(models.Model):
    """An instrument: ticker, security type, exchange and currency; ``conid`` from IBKR."""

    conid = models.BigIntegerField(null=True, blank=True, unique=True)
    symbol = models.CharField(max_length=32)
    sec_type = models.CharField(max_length=8, choices=SecType.choices, default=SecType.STOCK)
    exchange = models.CharField(max_length=32, default="SMART")
    primary_exchange = models.CharField(max_length=32, blank=True)
    currency = models.CharField(max_length=8, default="USD")
    description = models.CharField(max_length=255, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    trading_calendar = models.CharField(
        max_length=16,
        blank=True,
        help_text="exchange-calendars code (e.g. XNYS); blank: always open",
    )
    min_tick = models.DecimalField(max_digits=20, decimal_places=10, default=Decimal("0.01"))
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "sec_type", "currency"], name="symbol_unique_listing"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.sec_type} {self.currency}"
