"""Output serializers of the orders API.

Prices and money (commission, P&L) are in the symbol's currency, quantities in shares /
contracts / units, times in UTC.
"""

from typing import Any

from rest_framework import serializers

from apps.common.api_fields import choice_field
from apps.orders.models import (
    Fill,
    Order,
    OrderReason,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionAction,
    PositionActionStatus,
)
from apps.positions.models import (
    AccountPosition,
    AccountPositionSide,
    PositionStatus,
    StrategyPosition,
)


class FillOutputSerializer(serializers.ModelSerializer[Fill]):
    """One execution: quantity at price, its commission and the P&L it realized."""

    order_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Fill
        fields = [
            "id",
            "order_id",
            "execution_id",
            "executed_at",
            "quantity",
            "price",
            "commission",
            "realized_pnl",
        ]
        read_only_fields = fields


class FillListOutputSerializer(FillOutputSerializer):
    """A fill with the run and strategy of its order (links back to lineage), and its
    symbol's ticker and currency (the currency of ``price``, ``commission`` and
    ``realized_pnl``)."""

    run_id = serializers.IntegerField(read_only=True)
    strategy_id = serializers.IntegerField(read_only=True)
    symbol = serializers.CharField(read_only=True)
    currency = serializers.CharField(read_only=True)

    class Meta(FillOutputSerializer.Meta):
        fields = [*FillOutputSerializer.Meta.fields, "run_id", "strategy_id", "symbol", "currency"]
        read_only_fields = fields


class OrderActionSummarySerializer(serializers.ModelSerializer[PositionAction]):
    """The position action an order was sent for: its kind (close, reverse, scale_in, trail,
    end_of_day, person), status, who asked (``requested_by``: a username; null for a run or a
    schedule), their note and when it was asked (UTC)."""

    kind = choice_field(OrderReason, "OrderReasonEnum")
    status = choice_field(PositionActionStatus, "PositionActionStatusEnum")
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, default=None
    )
    run_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = PositionAction
        fields = ["id", "kind", "status", "requested_by", "note", "run_id", "created_at"]
        read_only_fields = fields


ORDER_FIELDS = [
    "id",
    "run_id",
    "signal_id",
    "reason",
    "action",
    "parent_id",
    "client_order_ref",
    "broker",
    "broker_order_id",
    "role",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "stop_price",
    "time_in_force",
    "oca_group",
    "status",
    "filled_quantity",
    "avg_fill_price",
    "commission",
    "realized_pnl",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
    "submitted_at",
    "filled_at",
    "cancelled_at",
    "flagged_at",
]


class OrderOutputSerializer(serializers.ModelSerializer[Order]):
    """An order as stored: what was sent (side, type, quantity, limit/stop prices), where it
    stands (status, filled quantity, average fill price, commission, realized P&L), why it
    exists (``reason``: signal, close, reverse, scale_in, trail, end_of_day, person; ``action``:
    the position action it was sent for, with who asked and their note — null for a signal's
    bracket), its run (``run_id``, the link back to lineage; null for a person's or a
    schedule's action) and ``flagged_at`` when reconciliation found the broker does not hold
    it."""

    run_id = serializers.IntegerField(read_only=True, allow_null=True)
    signal_id = serializers.IntegerField(read_only=True, allow_null=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
    reason = choice_field(OrderReason, "OrderReasonEnum")
    action = OrderActionSummarySerializer(read_only=True, allow_null=True)
    status = choice_field(OrderStatus, "OrderStatusEnum")
    order_type = choice_field(OrderType, "BrokerOrderTypeEnum")

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        read_only_fields = fields


class OrderListOutputSerializer(OrderOutputSerializer):
    """An order row of the list: with its symbol (ticker), strategy id and name, and number of
    fills."""

    symbol = serializers.CharField(source="symbol.symbol", read_only=True)
    symbol_id = serializers.IntegerField(read_only=True)
    strategy_id = serializers.IntegerField(read_only=True)
    strategy_name = serializers.CharField(read_only=True)
    fills_count = serializers.IntegerField(read_only=True)

    class Meta(OrderOutputSerializer.Meta):
        fields = [
            *ORDER_FIELDS,
            "symbol",
            "symbol_id",
            "strategy_id",
            "strategy_name",
            "fills_count",
        ]
        read_only_fields = fields


class OrderDetailOutputSerializer(OrderListOutputSerializer):
    """One order with its fills, oldest first."""

    fills = FillOutputSerializer(many=True, read_only=True)

    class Meta(OrderListOutputSerializer.Meta):
        fields = [*OrderListOutputSerializer.Meta.fields, "fills"]
        read_only_fields = fields


class WorkingOrderSerializer(serializers.ModelSerializer[Order]):
    """A working order of a position: its stop (``stop_loss``), its target (``take_profit``)
    or a close on its way (``exit``). ``price`` is the stop price of a stop, the limit of a
    target or limit exit (null for a market exit), in the symbol's currency; quantities in
    units."""

    role = choice_field(OrderRole, "OrderRoleEnum")
    status = choice_field(OrderStatus, "OrderStatusEnum")
    order_type = choice_field(OrderType, "BrokerOrderTypeEnum")
    price = serializers.DecimalField(
        max_digits=20, decimal_places=8, read_only=True, allow_null=True
    )
    reason = choice_field(OrderReason, "OrderReasonEnum")
    action_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "role",
            "status",
            "side",
            "order_type",
            "quantity",
            "filled_quantity",
            "price",
            "reason",
            "action_id",
        ]
        read_only_fields = fields


WORKING_ORDERS_HELP = (
    "The position's working stop and target and any close on its way (pending, being sent, "
    "working at the broker, or failed in transit and waiting to be resent); empty once closed."
)


class PositionOutputSerializer(serializers.ModelSerializer[StrategyPosition]):
    """A strategy's open position in a symbol on an account: ``quantity`` signed (negative is
    short), ``side``, average cost (commissions included), realized P&L; ``last_price`` is the
    close of the latest stored bar of the symbol's smallest stored bar size (``last_price_at``
    its open time, UTC), ``unrealized_pnl`` = (last price − average cost) × quantity — both
    null when no bar is stored."""

    symbol = serializers.CharField(source="symbol.symbol", read_only=True)
    symbol_id = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(source="symbol.currency", read_only=True)
    last_price = serializers.DecimalField(
        max_digits=20, decimal_places=8, read_only=True, allow_null=True
    )
    last_price_at = serializers.DateTimeField(read_only=True, allow_null=True)
    unrealized_pnl = serializers.DecimalField(
        max_digits=28, decimal_places=4, read_only=True, allow_null=True
    )
    quantity = serializers.DecimalField(
        source="signed_quantity", max_digits=20, decimal_places=4, read_only=True
    )
    strategy = serializers.CharField(source="strategy.slug", read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    working_orders = WorkingOrderSerializer(
        many=True, read_only=True, help_text=WORKING_ORDERS_HELP
    )

    class Meta:
        model = StrategyPosition
        fields = [
            "id",
            "account_id",
            "account",
            "strategy_id",
            "strategy",
            "side",
            "symbol",
            "symbol_id",
            "currency",
            "quantity",
            "average_cost",
            "realized_pnl",
            "last_price",
            "last_price_at",
            "unrealized_pnl",
            "working_orders",
            "updated_at",
        ]
        read_only_fields = fields


STRATEGY_POSITION_FIELDS = [
    "id",
    "account_id",
    "account",
    "strategy_id",
    "strategy",
    "strategy_name",
    "symbol_id",
    "symbol",
    "currency",
    "side",
    "status",
    "quantity",
    "average_cost",
    "realized_pnl",
    "commission",
    "entry_quantity",
    "entry_price",
    "exit_quantity",
    "exit_price",
    "initial_risk",
    "r_multiple",
    "outcome",
    "opened_at",
    "closed_at",
    "opening_run_id",
    "prompt_template_id",
    "llm_model",
    "working_orders",
    "updated_at",
]


class StrategyPositionOutputSerializer(serializers.ModelSerializer[StrategyPosition]):
    """One lifetime of a strategy's position on one side (``LONG``/``SHORT``) of a symbol in an
    account: ``quantity`` unsigned (units; 0 once closed), ``average_cost`` IBKR-style
    (commissions included), realized P&L net of commissions, entry and exit average prices
    (commissions excluded), ``initial_risk`` (money at risk when opened), ``r_multiple``
    (realized / initial risk, once closed with a known risk) and ``outcome`` (win, loss,
    breakeven; blank while open). Money in ``currency`` (the symbol's); times UTC."""

    account = serializers.CharField(source="account.name", read_only=True)
    strategy = serializers.CharField(source="strategy.slug", read_only=True)
    strategy_name = serializers.CharField(source="strategy.name", read_only=True)
    symbol = serializers.CharField(source="symbol.symbol", read_only=True)
    currency = serializers.CharField(source="symbol.currency", read_only=True)
    status = choice_field(PositionStatus, "StrategyPositionStatusEnum")
    outcome = serializers.CharField(read_only=True)
    account_id = serializers.IntegerField(read_only=True)
    strategy_id = serializers.IntegerField(read_only=True)
    symbol_id = serializers.IntegerField(read_only=True)
    opening_run_id = serializers.IntegerField(read_only=True, allow_null=True)
    prompt_template_id = serializers.IntegerField(read_only=True, allow_null=True)
    working_orders = WorkingOrderSerializer(
        many=True, read_only=True, help_text=WORKING_ORDERS_HELP
    )

    class Meta:
        model = StrategyPosition
        fields = STRATEGY_POSITION_FIELDS
        read_only_fields = fields


class StrategyPositionDetailOutputSerializer(StrategyPositionOutputSerializer):
    """A strategy position with its orders (entries and the exits of their brackets, by id),
    each with its fills."""

    orders = OrderDetailOutputSerializer(many=True, read_only=True)

    class Meta(StrategyPositionOutputSerializer.Meta):
        fields = [*STRATEGY_POSITION_FIELDS, "orders"]
        read_only_fields = fields


class AccountPositionOutputSerializer(serializers.ModelSerializer[AccountPosition]):
    """The broker's position in a symbol (``side`` ``NET`` when netting; ``LONG``/``SHORT``
    apart in the paper broker's hedge mode) beside the strategies' sum: quantities signed
    (negative is short, units); ``unattributed_quantity`` = broker − strategies, flagged since
    ``flagged_at`` while not zero; ``reported_at``: the broker's last report (UTC)."""

    symbol = serializers.CharField(source="symbol.symbol", read_only=True)
    symbol_id = serializers.IntegerField(read_only=True)
    currency = serializers.CharField(source="symbol.currency", read_only=True)
    side = choice_field(AccountPositionSide, "AccountPositionSideEnum")

    class Meta:
        model = AccountPosition
        fields = [
            "id",
            "symbol_id",
            "symbol",
            "currency",
            "side",
            "broker_quantity",
            "broker_average_cost",
            "strategy_quantity",
            "unattributed_quantity",
            "reported_at",
            "flagged_at",
            "updated_at",
        ]
        read_only_fields = fields


class SymbolStrategyPositionsSerializer(serializers.Serializer[Any]):
    """The open strategy positions in one symbol of the account: ``net_quantity`` their signed
    sum (units, negative is short) and each position (``PositionOutputSerializer``: signed
    quantity, last price, unrealized P&L)."""

    symbol_id = serializers.IntegerField()
    symbol = serializers.CharField()
    currency = serializers.CharField()
    net_quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    positions = PositionOutputSerializer(many=True)


class AccountPositionsOutputSerializer(serializers.Serializer[Any]):
    """Both levels of an account's positions: ``account_positions`` (the broker's, per
    reconciliation) and ``symbols`` (the open strategy positions grouped per symbol)."""

    account_id = serializers.IntegerField()
    account_positions = AccountPositionOutputSerializer(many=True)
    symbols = SymbolStrategyPositionsSerializer(many=True)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=28, decimal_places=4, **kwargs)


class StrategyBookSerializer(serializers.Serializer[Any]):
    """One strategy on the account; money in ``currency`` (its symbol's)."""

    strategy_id = serializers.IntegerField()
    strategy = serializers.CharField(help_text="The strategy's slug.")
    strategy_name = serializers.CharField()
    currency = serializers.CharField()
    open_positions = serializers.IntegerField()
    open_quantity = serializers.DecimalField(
        max_digits=20, decimal_places=4, help_text="Signed (negative is short), units."
    )
    realized_pnl = _money(help_text="Every lifetime, net of commissions.")
    unrealized_pnl = _money(
        help_text="Open positions at the last stored bar close − average cost (commissions "
        "included); open positions without any stored bar are left out (unpriced_positions)."
    )
    unpriced_positions = serializers.IntegerField()
    commission = _money()
    closed_positions = serializers.IntegerField()
    win_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        allow_null=True,
        help_text="Wins / closed positions, 0–1; null before the first close.",
    )
    average_r = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        allow_null=True,
        help_text="Mean R multiple of the closed positions with a known risk; null without.",
    )


class CurrencyBookSerializer(serializers.Serializer[Any]):
    """The account in one currency: never converted, never added to another."""

    currency = serializers.CharField()
    starting_cash = _money(allow_null=True, help_text="Null: no starting cash in it.")
    open_positions = serializers.IntegerField()
    realized_pnl = _money()
    unrealized_pnl = _money()
    unpriced_positions = serializers.IntegerField()
    commission = _money()
    closed_positions = serializers.IntegerField()
    win_rate = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)


class PortfolioOutputSerializer(serializers.Serializer[Any]):
    """An account's portfolio per currency and per strategy."""

    account_id = serializers.IntegerField()
    currencies = CurrencyBookSerializer(many=True)
    strategies = StrategyBookSerializer(many=True)


class PositionActionOutputSerializer(serializers.ModelSerializer[PositionAction]):
    """One position action: its ``kind`` (close, reverse, scale_in, trail, end_of_day, person),
    ``status`` (requested, done, failed, refused), its scope (account; strategy, symbol and
    strategy position when narrowed), who asked (``requested_by`` username or the ``run``),
    their ``note``, ``market_time`` (when its orders reach the market, UTC), ``detail`` (what
    it did: orders cancelled and sent, for a close-all its closes), ``error_message`` and
    when it was asked and finished (UTC)."""

    kind = choice_field(OrderReason, "OrderReasonEnum")
    status = choice_field(PositionActionStatus, "PositionActionStatusEnum")
    account_id = serializers.IntegerField(read_only=True)
    account = serializers.CharField(source="account.name", read_only=True)
    strategy_id = serializers.IntegerField(read_only=True, allow_null=True)
    strategy = serializers.CharField(
        source="strategy.slug", read_only=True, allow_null=True, default=None
    )
    symbol_id = serializers.IntegerField(read_only=True, allow_null=True)
    symbol = serializers.CharField(
        source="symbol.symbol", read_only=True, allow_null=True, default=None
    )
    strategy_position_id = serializers.IntegerField(read_only=True, allow_null=True)
    run_id = serializers.IntegerField(read_only=True, allow_null=True)
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True, default=None
    )
    detail = serializers.JSONField(read_only=True)

    class Meta:
        model = PositionAction
        fields = [
            "id",
            "kind",
            "status",
            "account_id",
            "account",
            "strategy_id",
            "strategy",
            "symbol_id",
            "symbol",
            "strategy_position_id",
            "run_id",
            "requested_by",
            "note",
            "market_time",
            "detail",
            "error_message",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class PositionActionDetailOutputSerializer(PositionActionOutputSerializer):
    """A position action with the orders it sent (by id, each with its fills)."""

    orders = OrderDetailOutputSerializer(many=True, read_only=True)

    class Meta(PositionActionOutputSerializer.Meta):
        fields = [*PositionActionOutputSerializer.Meta.fields, "orders"]
        read_only_fields = fields


# PostgreSQL's bigint: a larger id cannot exist, and would fail in the database.
ID_MAX = 2**63 - 1


class CloseInputSerializer(serializers.Serializer[Any]):
    """A person's close: ``note`` says why (optional, kept on the position action)."""

    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CloseAllInputSerializer(CloseInputSerializer):
    """A person's close-all of an account: ``note``, and the scope narrowed to a ``symbol``
    and/or a ``strategy`` (ids; both optional)."""

    symbol = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=ID_MAX
    )
    strategy = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=ID_MAX
    )


class CloseAllOutputSerializer(serializers.Serializer[Any]):
    """What a close-all did: the umbrella ``action`` (``failed`` when anything failed), the
    working orders it cancelled (client references), the positions' closes (their actions,
    each with its exit order) and ``failures``: one line per thing that failed."""

    action = PositionActionOutputSerializer()
    cancelled = serializers.ListField(child=serializers.CharField())
    closes = PositionActionDetailOutputSerializer(many=True)
    failures = serializers.ListField(child=serializers.CharField())
