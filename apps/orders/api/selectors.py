"""Reads of orders, fills and positions for the API, with their joins already applied."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce

from apps.marketdata.models import Bar, BarSize
from apps.orders.models import Fill, Order
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.trading.selectors import accounts_of

PRICE = DecimalField(max_digits=20, decimal_places=8)
MONEY = DecimalField(max_digits=28, decimal_places=8)


def _fills_count() -> Subquery:
    # A correlated count rather than JOIN + GROUP BY, so a LIMITed page stays an index scan.
    fills = Fill.objects.filter(order_id=OuterRef("pk")).order_by()
    return Subquery(fills.values("order_id").annotate(n=Count("id")).values("n")[:1])


def _with_row_fields(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` annotated with what an order row shows besides its own columns: its number
    of fills and its run's strategy id and name."""
    return orders.annotate(
        fills_count=Coalesce(_fills_count(), 0),
        strategy_id=F("run__strategy_id"),
        strategy_name=F("run__strategy__name"),
    )


def order_list() -> QuerySet[Order]:
    """Orders with their symbol, ``strategy_id``, ``strategy_name`` and ``fills_count``, newest
    first by id."""
    return _with_row_fields(Order.objects.select_related("symbol")).order_by("-id")


def order_detail() -> QuerySet[Order]:
    """Orders with their symbol, strategy id and name, owner (for write permissions) and their
    fills (oldest first): three queries per order fetched."""
    return _with_row_fields(
        Order.objects.select_related("symbol", "run__strategy")
    ).prefetch_related(
        Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id")),
    )


def fill_list() -> QuerySet[Fill]:
    """Fills with their order's run and strategy ids (as ``run_id`` / ``strategy_id``) and
    symbol (``symbol`` ticker, ``currency``), in execution order."""
    return Fill.objects.annotate(
        run_id=F("order__run_id"),
        strategy_id=F("order__run__strategy_id"),
        symbol=F("order__symbol__symbol"),
        currency=F("order__symbol__currency"),
    ).order_by("executed_at", "id")


def _latest_bar(field: str, bar_size: str) -> Subquery:
    bars = Bar.objects.filter(symbol_id=OuterRef("symbol_id"), bar_size=bar_size)
    return Subquery(bars.order_by("-ts").values(field)[:1])


def position_list() -> QuerySet[StrategyPosition]:
    """Open strategy positions with their symbol and the latest stored bar of the symbol's
    smallest stored bar size: ``last_price`` (its close, in the symbol's currency),
    ``last_price_at`` (its open time, UTC), ``signed_quantity`` (negative is short) and
    ``unrealized_pnl`` = (last price − average cost) × signed quantity (None without any bar).
    One query, whatever the number of positions."""
    sizes = list(BarSize.values)  # smallest first
    signed = Case(
        When(side=PositionSide.SHORT, then=-F("quantity")),
        default=F("quantity"),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    return (
        StrategyPosition.objects.filter(status=PositionStatus.OPEN)
        .select_related("symbol", "strategy", "account")
        .annotate(
            signed_quantity=signed,
            last_price=Coalesce(*(_latest_bar("close", s) for s in sizes), output_field=PRICE),
            last_price_at=Coalesce(*(_latest_bar("ts", s) for s in sizes)),
        )
        .annotate(
            unrealized_pnl=ExpressionWrapper(
                (F("last_price") - F("average_cost")) * F("signed_quantity"), output_field=MONEY
            )
        )
        .order_by("symbol__symbol", "id")
    )


def positions_visible_to(
    queryset: QuerySet[StrategyPosition], *, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[StrategyPosition]:
    """``queryset`` cut to the accounts the user owns or is a member of."""
    return queryset.filter(account_id__in=accounts_of(user_id=user.pk).values("pk"))
