"""Orders, their fills (executions) and the paper broker's book.

Prices and money are in the symbol's currency, quantities in shares/contracts/units.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Side(models.TextChoices):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(models.TextChoices):
    """Every order type Sibyl sends (IBKR's names); a strategy's entry is one of
    ``ENTRY_ORDER_TYPES``, the bracket's children are ``LMT`` (take-profit) and ``STP``."""

    MARKET = "MKT"
    LIMIT = "LMT"
    STOP = "STP"
    STOP_LIMIT = "STPLMT"


# The order types a strategy may choose for its entry (market, or limit at the signal's entry).
ENTRY_ORDER_TYPES = (OrderType.MARKET, OrderType.LIMIT)
ENTRY_ORDER_TYPE_CHOICES = [(kind.value, kind.label) for kind in ENTRY_ORDER_TYPES]


class OrderRole(models.TextChoices):
    """Where an order sits in a bracket (IBKR: parent, take-profit child, stop-loss child)."""

    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"
    # A lone order that reduces (closes) a strategy position: a close, a reverse's first leg,
    # an end-of-day or a person's close. It has no parent and no children.
    EXIT = "exit"


class OrderReason(models.TextChoices):
    """Why an order exists: a run's signal opened it (a bracket), a position action a run's
    signal or a schedule asked for, or a person's action (who, when and their note are on its
    ``PositionAction``)."""

    SIGNAL = "signal"
    CLOSE = "close"
    REVERSE = "reverse"
    SCALE_IN = "scale_in"
    TRAIL = "trail"
    END_OF_DAY = "end_of_day"
    PERSON = "person"


class OrderStatus(models.TextChoices):
    # A sized bracket held for a person's approval (``OrderApproval``): never sent while it
    # waits; approved it becomes pending and goes the submit-once way, else cancelled.
    AWAITING_APPROVAL = "awaiting_approval"
    PENDING = "pending"
    # Claimed for submission and committed before the broker is called (see bracket_submit).
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    FAILED = "failed"


ACTIVE_ORDER_STATUSES = (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
TERMINAL_ORDER_STATUSES = (
    OrderStatus.FILLED,
    OrderStatus.CANCELLED,
    OrderStatus.REJECTED,
    OrderStatus.FAILED,
)


class Order(models.Model):
    """One order sent (or to be sent) to a broker; ``client_order_ref`` is the idempotency key."""

    run = models.ForeignKey(
        "lineage.Run",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="orders",
        help_text="The run whose signal asked for it; none for a person's or a schedule's action.",
    )
    signal = models.ForeignKey(
        "signals.Signal", on_delete=models.CASCADE, null=True, blank=True, related_name="orders"
    )
    reason = models.CharField(
        max_length=16, choices=OrderReason.choices, default=OrderReason.SIGNAL, db_index=True
    )
    action = models.ForeignKey(
        "orders.PositionAction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="The position action it was sent for (close, reverse, scale-in, …).",
    )
    strategy = models.ForeignKey(
        "strategies.Strategy",
        on_delete=models.PROTECT,
        related_name="orders",
        help_text="The strategy the order trades for (its fills belong to its positions).",
    )
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("trading.Account", on_delete=models.PROTECT, related_name="orders")
    strategy_position = models.ForeignKey(
        "positions.StrategyPosition",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        help_text="The strategy position its fills belong to (set by the entry's first fill).",
    )
    broker = models.CharField(max_length=16)
    role = models.CharField(max_length=16, choices=OrderRole.choices)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=8, choices=OrderType.choices)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    limit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    time_in_force = models.CharField(max_length=8)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    oca_group = models.CharField(max_length=64, blank=True)
    client_order_ref = models.CharField(max_length=64, unique=True)
    broker_order_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True
    )
    filled_quantity = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    avg_fill_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    commission = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(
        default=0,
        help_text="Modifications the broker acknowledged (quantity, limit, stop changed in place).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(
        null=True, blank=True, help_text="When reconciliation found the broker does not hold it."
    )

    class Meta:
        ordering = ["-created_at", "id"]
        # What must hold of every order, whoever writes it (services, admin, a shell).
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="order_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0), name="order_filled_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(filled_quantity__lte=F("quantity")),
                name="order_filled_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_known"
            ),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="order_side_known"),
            models.CheckConstraint(
                condition=Q(order_type__in=OrderType.values), name="order_type_known"
            ),
            # An entry or exit has no parent; a take-profit or stop-loss child always has one.
            models.CheckConstraint(
                condition=Q(role__in=(OrderRole.ENTRY, OrderRole.EXIT), parent__isnull=True)
                | Q(role__in=(OrderRole.TAKE_PROFIT, OrderRole.STOP_LOSS), parent__isnull=False),
                name="order_child_has_parent",
            ),
            models.CheckConstraint(
                condition=~Q(order_type__in=(OrderType.LIMIT, OrderType.STOP_LIMIT))
                | Q(limit_price__isnull=False),
                name="order_limit_has_limit_price",
            ),
            models.CheckConstraint(
                condition=~Q(order_type__in=(OrderType.STOP, OrderType.STOP_LIMIT))
                | Q(stop_price__isnull=False),
                name="order_stop_has_stop_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_ref} {self.side} {self.quantity} {self.order_type}"


class PositionActionStatus(models.TextChoices):
    REQUESTED = "requested"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"


class PositionAction(models.Model):
    """One decision to change a held position other than opening a bracket: close, reverse,
    scale in, trail the stop, the end-of-day close, or a person's close / close-all.

    It records who or what asked (a run and its signal, the end-of-day schedule, or a user with
    a note), the scope (one strategy position, a strategy, an account's symbol, a whole account),
    what it did (``detail``: orders cancelled, sent and modified) and how it ended. Every order
    it sends points back to it (``Order.action``).
    """

    kind = models.CharField(max_length=16, choices=OrderReason.choices)
    status = models.CharField(
        max_length=10,
        choices=PositionActionStatus.choices,
        default=PositionActionStatus.REQUESTED,
    )
    account = models.ForeignKey(
        "trading.Account", on_delete=models.PROTECT, related_name="position_actions"
    )
    strategy = models.ForeignKey(
        "strategies.Strategy",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="position_actions",
    )
    symbol = models.ForeignKey(
        "symbols.Symbol", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    strategy_position = models.ForeignKey(
        "positions.StrategyPosition",
        # A rebuild replaces positions and points the action at its exit's new position.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
    )
    run = models.ForeignKey(
        "lineage.Run",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="position_actions",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True, help_text="Why, in the words of whoever asked.")
    market_time = models.DateTimeField(
        help_text="When its orders reach the market: the run's as-of, or when it was asked."
    )
    detail = models.JSONField(default=dict, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} ({self.status})"


class ModificationStatus(models.TextChoices):
    REQUESTED = "requested"
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    FAILED = "failed"


class OrderModification(models.Model):
    """One change of a working order's quantity, limit or stop at its broker (IBKR: placeOrder
    again with the same orderId).

    ``version`` is the order's version this modification makes (1 for the first); at most one
    per (order, version), so a modification is sent once: a retry after a lost answer asks the
    broker which version it holds before sending again. Prices in the symbol's currency,
    quantity in units; ``previous`` keeps what it replaced.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="modifications")
    version = models.PositiveIntegerField()
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    limit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    previous = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=ModificationStatus.choices, default=ModificationStatus.REQUESTED
    )
    action = models.ForeignKey(
        PositionAction,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="modifications",
    )
    error_message = models.TextField(blank=True)
    market_time = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When it reaches the market (the paper book applies it to bars from then on).",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "version"], name="order_modification_once_per_version"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_modification_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} v{self.version} ({self.status})"


class Fill(models.Model):
    """One execution of an order, recorded once by its ``execution_id``."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    execution_id = models.CharField(max_length=64, unique=True)
    executed_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    price = models.DecimalField(max_digits=20, decimal_places=8)
    commission = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=4, default=Decimal("0"))
    unattributed_quantity = models.DecimalField(
        max_digits=20,
        decimal_places=4,
        default=Decimal("0"),
        help_text="Quantity of an exit fill beyond its strategy position (no strategy's).",
    )

    class Meta:
        ordering = ["executed_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.execution_id}: {self.quantity} @ {self.price}"


class PaperOrder(models.Model):
    """The embedded paper broker's own order book, apart from Sibyl's Order rows.

    The broker knows an order only by what it was sent; Sibyl asks it by client order reference
    before submitting, as it would ask IBKR. ``quantity``/``limit_price``/``stop_price`` are the
    current values; a modified order keeps every version with the market time it took effect
    (``versions``), so a replay of the bars applies each from its own time only.
    """

    client_order_ref = models.CharField(max_length=64, unique=True)
    account_key = models.CharField(
        max_length=32, blank=True, help_text="The account the order was placed for."
    )
    position_side = models.CharField(
        max_length=5, blank=True, help_text="LONG or SHORT: the side a hedge-mode book holds it on."
    )
    symbol = models.ForeignKey("symbols.Symbol", on_delete=models.PROTECT, related_name="+")
    bar_size = models.CharField(max_length=16)
    role = models.CharField(max_length=16)
    parent_ref = models.CharField(max_length=64, blank=True)
    oca_group = models.CharField(max_length=64, blank=True)
    side = models.CharField(max_length=4)
    order_type = models.CharField(max_length=8)
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    limit_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    stop_price = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    time_in_force = models.CharField(max_length=8)
    accepted_at = models.DateTimeField(help_text="Market time the order reached the book.")
    versions = models.JSONField(
        default=list,
        blank=True,
        help_text="Its values over time once modified: [{version, effective_at (market time, "
        "ISO), quantity, limit_price, stop_price}], oldest first, version 0 as accepted.",
    )
    status = models.CharField(max_length=20, default="submitted")
    cancel_reason = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"paper {self.pk} {self.client_order_ref} {self.status}"


class PaperExecution(models.Model):
    """An execution the paper broker made; Sibyl reads them as a broker's execution reports."""

    paper_order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="executions")
    execution_id = models.CharField(max_length=64, unique=True)
    executed_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=20, decimal_places=4)
    price = models.DecimalField(max_digits=20, decimal_places=8)
    commission = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        ordering = ["executed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="paper_execution_quantity_positive"
            )
        ]

    def __str__(self) -> str:
        return f"paper {self.execution_id}: {self.quantity} @ {self.price}"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class OrderApproval(models.Model):
    """A person's decision on one sized bracket before it goes to the broker (issue 17,
    "Approval queue"; openspec/specs/operations/spec.md).

    The run's order step holds the bracket (``parent`` and its children, status
    ``awaiting_approval``) and creates this row; a person approves it (``approved_quantity``
    at most ``requested_quantity``: the whole bracket is resized, prices unchanged), rejects it
    with a ``reason``, or it expires at ``expires_at`` (tz-aware UTC; reason "approval
    expired"). ``decided_by``/``decided_at`` say who and when. Quantities in
    shares/contracts/units.
    """

    parent = models.OneToOneField(
        Order,
        on_delete=models.CASCADE,
        related_name="approval",
        help_text="The bracket's entry order (its take-profit and stop-loss children wait too).",
    )
    run = models.ForeignKey("lineage.Run", on_delete=models.CASCADE, related_name="approvals")
    strategy = models.ForeignKey(
        "strategies.Strategy", on_delete=models.PROTECT, related_name="approvals"
    )
    account = models.ForeignKey(
        "trading.Account", on_delete=models.PROTECT, related_name="approvals"
    )
    status = models.CharField(
        max_length=10,
        choices=ApprovalStatus.choices,
        default=ApprovalStatus.PENDING,
        db_index=True,
    )
    requested_quantity = models.DecimalField(max_digits=20, decimal_places=4)
    approved_quantity = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    expires_at = models.DateTimeField(help_text="When it is cancelled unless decided (UTC).")
    why = models.TextField(help_text="Why the bracket waits (the strategy's approval setting).")
    reason = models.TextField(blank=True, help_text="Why it was rejected or expired.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_quantity__gt=0), name="approval_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(approved_quantity__isnull=True)
                | (Q(approved_quantity__gt=0) & Q(approved_quantity__lte=F("requested_quantity"))),
                name="approval_approved_within_requested",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApprovalStatus.values), name="approval_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"approval {self.pk} of order {self.parent_id} ({self.status})"
