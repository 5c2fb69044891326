"""Output serializers of the orders API.

Prices and money (commission, P&L) are in the symbol's currency, quantities in shares /
contracts / units, times in UTC.
"""

from rest_framework import serializers

from apps.common.api_fields import choice_field
from apps.orders.models import Fill, Order, OrderStatus, OrderType
from apps.positions.models import StrategyPosition


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


ORDER_FIELDS = [
    "id",
    "run_id",
    "signal_id",
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
    stands (status, filled quantity, average fill price, commission, realized P&L), its run
    (``run_id``, the link back to lineage) and ``flagged_at`` when reconciliation found the
    broker does not hold it."""

    run_id = serializers.IntegerField(read_only=True)
    signal_id = serializers.IntegerField(read_only=True)
    parent_id = serializers.IntegerField(read_only=True, allow_null=True)
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
            "updated_at",
        ]
        read_only_fields = fields
