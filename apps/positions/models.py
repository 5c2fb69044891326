"""Strategy positions (virtual) and account positions (physical).

A ``StrategyPosition`` is one lifetime of one strategy's position on one side of a symbol in
one account: opened by an entry fill, closed when its exits bring it back to zero. At most one
is open per (strategy, symbol, position side); a closed one keeps its entry and exit prices,
duration, commission, P&L, R multiple and outcome. Every fill belongs to exactly one strategy
position through its order (``Order.strategy_position``).

An ``AccountPosition`` is the broker's position in a symbol (netting: the net, side ``NET``;
the paper broker in hedge mode: ``LONG`` and ``SHORT`` apart) beside the sum of the strategy
positions; a difference is unattributed quantity, flagged and never silently fixed.

Prices and money in the symbol's currency; quantities in shares/contracts/units; times UTC.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q


class PositionSide(models.TextChoices):
    LONG = "LONG"
    SHORT = "SHORT"


class PositionStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(models.TextChoices):
    WIN = "win"
    LOSS = "loss"
    BREAKEVEN = "breakeven"


class StrategyPosition(models.Model):
    """One lifetime of a strategy's position on one side of a symbol (quantity unsigned).

    ``average_cost`` is IBKR-style (commissions included: a long's buy commissions raise it, a
    short's lower it); ``realized_pnl`` is net of every commission; ``initial_risk`` is the money
    at risk when opened, Σ entry quantity × |fill price − the signal's stop|, so
    ``r_multiple`` = realized P&L / initial risk (Van Tharp's R).
    """

    account = models.ForeignKey(
        "trading.Account", on_delete=models.PROTECT, related_name="strategy_positions"
    )
    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="positions"
    )
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=5, choices=PositionSide.choices)
    status = models.CharField(
        max_length=6, choices=PositionStatus.choices, default=PositionStatus.OPEN
    )
    quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    average_cost = models.DecimalField(max_digits=20, decimal_places=8, default=Decimal(0))
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    commission = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    entry_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    entry_price = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="Average price of the entry fills, commissions excluded.",
    )
    exit_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    exit_price = models.DecimalField(
        max_digits=20,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="Average price of the exit fills, commissions excluded.",
    )
    initial_risk = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    r_multiple = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    outcome = models.CharField(max_length=9, choices=Outcome.choices, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    opening_run = models.ForeignKey(
        "lineage.Run", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prompt_template = models.ForeignKey(
        "analysis.PromptTemplate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The prompt version of the run that opened it (P&L per prompt version).",
    )
    llm_model = models.CharField(
        max_length=128, blank=True, help_text="The model of the run that opened it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["account", "symbol", "status"]),
            models.Index(fields=["strategy", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "symbol", "side"],
                condition=Q(status="open"),
                name="strategy_position_one_open_per_side",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="strategy_position_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(side__in=PositionSide.values), name="strategy_position_side_known"
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False, quantity=0),
                name="strategy_position_closed_is_flat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_id} {self.side} {self.quantity} @ {self.average_cost}"


class AccountPositionSide(models.TextChoices):
    NET = "NET"
    LONG = "LONG"
    SHORT = "SHORT"


class AccountPosition(models.Model):
    """The broker's position in a symbol beside the strategies' sum, per reconciliation.

    ``broker_quantity`` and ``strategy_quantity`` are signed (negative is short);
    ``unattributed_quantity`` = broker − strategies: a manual trade at the broker, a missed
    fill. ``flagged_at`` is set while it is not zero.
    """

    account = models.ForeignKey(
        "trading.Account", on_delete=models.CASCADE, related_name="account_positions"
    )
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    side = models.CharField(
        max_length=5, choices=AccountPositionSide.choices, default=AccountPositionSide.NET
    )
    broker_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    broker_average_cost = models.DecimalField(
        max_digits=20, decimal_places=8, null=True, blank=True
    )
    strategy_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    unattributed_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal(0))
    reported_at = models.DateTimeField(
        null=True, blank=True, help_text="When the broker last reported it."
    )
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="Since when broker and strategies disagree."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "symbol", "side"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "side"], name="account_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}/{self.symbol_id} {self.side} {self.broker_quantity}"
