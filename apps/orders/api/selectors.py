"""Reads of orders, fills and positions for the API, with their joins already applied."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from apps.marketdata.models import Bar, BarSize
from apps.orders.models import (
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    PositionAction,
)
from apps.positions.models import (
    AccountPosition,
    PositionSide,
    PositionStatus,
    StrategyPosition,
)
from apps.positions.performance import win_rate
from apps.symbols.models import Symbol
from apps.trading.selectors import accounts_of

PRICE = DecimalField(max_digits=20, decimal_places=8)
MONEY = DecimalField(max_digits=28, decimal_places=8)


def _fills_count() -> Subquery:
    # A correlated count rather than JOIN + GROUP BY, so a LIMITed page stays an index scan.
    fills = Fill.objects.filter(order_id=OuterRef("pk")).order_by()
    return Subquery(fills.values("order_id").annotate(n=Count("id")).values("n")[:1])


def _with_row_fields(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` annotated with what an order row shows besides its own columns: its number
    of fills and its strategy's name."""
    return orders.annotate(
        fills_count=Coalesce(_fills_count(), 0),
        strategy_name=F("strategy__name"),
    )


# An order reads with its position action and who asked for it (its reason shown).
ORDER_JOINS = ("symbol", "action", "action__requested_by")


def order_list() -> QuerySet[Order]:
    """Orders with their symbol, position action (and who asked), ``strategy_id``,
    ``strategy_name`` and ``fills_count``, newest first by id."""
    return _with_row_fields(Order.objects.select_related(*ORDER_JOINS)).order_by("-id")


def order_detail() -> QuerySet[Order]:
    """Orders with their symbol, strategy id and name, owner (for write permissions), position
    action (and who asked) and their fills (oldest first): two queries per order fetched."""
    return _with_row_fields(
        Order.objects.select_related(*ORDER_JOINS, "strategy")
    ).prefetch_related(
        Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id")),
    )


def fill_list() -> QuerySet[Fill]:
    """Fills with their order's run and strategy ids (as ``run_id`` / ``strategy_id``) and
    symbol (``symbol`` ticker, ``currency``), in execution order."""
    return Fill.objects.annotate(
        run_id=F("order__run_id"),
        strategy_id=F("order__strategy_id"),
        symbol=F("order__symbol__symbol"),
        currency=F("order__symbol__currency"),
    ).order_by("executed_at", "id")


# Working: may still fill or be sent. A failed exit waits for the retry pass to resend it.
_WORKING = Q(
    status__in=(
        OrderStatus.PENDING,
        OrderStatus.SUBMITTING,
        OrderStatus.SUBMITTED,
        OrderStatus.PARTIALLY_FILLED,
    )
) | Q(role=OrderRole.EXIT, status=OrderStatus.FAILED)


def working_orders_prefetch() -> Prefetch:
    """A prefetch of each strategy position's working stop, target and close (``exit``) as
    ``working_orders`` (a list, by id), each with ``price``: the stop price of a stop, else
    the limit price (null for a market exit). One query for every position fetched."""
    orders = (
        Order.objects.filter(
            _WORKING,
            role__in=(OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT, OrderRole.EXIT),
        )
        .annotate(
            price=Case(
                When(role=OrderRole.STOP_LOSS, then=F("stop_price")),
                default=F("limit_price"),
                output_field=PRICE,
            )
        )
        .order_by("id")
    )
    return Prefetch("orders", queryset=orders, to_attr="working_orders")


def _latest_bar(field: str, bar_size: str) -> Subquery:
    bars = Bar.objects.filter(symbol_id=OuterRef("symbol_id"), bar_size=bar_size)
    return Subquery(bars.order_by("-ts").values(field)[:1])


def last_closes(*, symbol_ids: set[int]) -> dict[int, Decimal]:
    """Per symbol id, the close of its latest stored bar of its smallest stored bar size (in
    the symbol's currency); symbols without any bar are absent. One query over the symbols (a
    few rows, so the planner keeps it cheap whatever the positions table holds)."""
    if not symbol_ids:
        return {}
    closes = (
        Bar.objects.filter(symbol_id=OuterRef("pk"), bar_size=size)
        .order_by("-ts")
        .values("close")[:1]
        for size in BarSize.values  # smallest first
    )
    rows = (
        Symbol.objects.filter(pk__in=symbol_ids)
        .annotate(last_close=Coalesce(*(Subquery(c) for c in closes), output_field=PRICE))
        .values_list("pk", "last_close")
    )
    return {pk: close for pk, close in rows if close is not None}


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
        .prefetch_related(working_orders_prefetch())
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


def strategy_position_list() -> QuerySet[StrategyPosition]:
    """Strategy positions (open and closed) with their account, strategy, symbol and working
    orders (``working_orders_prefetch``), newest first by id."""
    return (
        StrategyPosition.objects.select_related("account", "strategy", "symbol")
        .prefetch_related(working_orders_prefetch())
        .order_by("-id")
    )


def strategy_position_detail() -> QuerySet[StrategyPosition]:
    """Strategy positions with their account, strategy, symbol, working orders
    (``working_orders_prefetch``) and orders (by id, each with its fills in execution order
    and its position action)."""
    orders = _with_row_fields(Order.objects.select_related(*ORDER_JOINS)).prefetch_related(
        Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id"))
    )
    return StrategyPosition.objects.select_related(
        "account", "strategy", "symbol"
    ).prefetch_related(
        working_orders_prefetch(), Prefetch("orders", queryset=orders.order_by("id"))
    )


def position_action_list() -> QuerySet[PositionAction]:
    """Position actions with their account, strategy, symbol and who asked, newest first."""
    return PositionAction.objects.select_related(
        "account", "strategy", "symbol", "requested_by"
    ).order_by("-id")


def position_action_detail() -> QuerySet[PositionAction]:
    """Position actions as ``position_action_list``, with the orders they sent (by id, each
    with its fills and its action)."""
    orders = _with_row_fields(Order.objects.select_related(*ORDER_JOINS)).prefetch_related(
        Prefetch("fills", queryset=Fill.objects.order_by("executed_at", "id"))
    )
    return position_action_list().prefetch_related(
        Prefetch("orders", queryset=orders.order_by("id"))
    )


def account_positions(*, account_id: int) -> QuerySet[AccountPosition]:
    """The account's positions at its broker beside the strategies' sum, by symbol and side."""
    return (
        AccountPosition.objects.filter(account_id=account_id)
        .select_related("symbol")
        .order_by("symbol__symbol", "side", "id")
    )


@dataclass
class StrategyBook:
    """One strategy's numbers on an account (money in ``currency``, its symbol's): signed
    open quantity (units), realized P&L (every lifetime, commissions included), unrealized P&L
    of the open positions priced by the last stored bar close (``unpriced_positions``: open
    ones without any bar, left out), commissions, closed lifetimes, win rate (wins / closed,
    0–1; None before the first close) and average R of the closed lifetimes with a known
    risk."""

    strategy_id: int
    strategy: str
    strategy_name: str
    currency: str
    open_positions: int = 0
    open_quantity: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    unpriced_positions: int = 0
    commission: Decimal = Decimal(0)
    closed_positions: int = 0
    wins: int = 0
    average_r: Decimal | None = None

    @property
    def win_rate(self) -> Decimal | None:
        """Wins / closed lifetimes (0–1, four places); None before the first close."""
        return win_rate(self.wins, self.closed_positions)


@dataclass
class CurrencyBook:
    """An account's numbers in one currency (never converted or added across currencies):
    starting cash (None: no cash in it), realized and unrealized P&L, commissions, open and
    closed lifetimes and win rate, over the strategies trading symbols in it."""

    currency: str
    starting_cash: Decimal | None
    open_positions: int = 0
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    unpriced_positions: int = 0
    commission: Decimal = Decimal(0)
    closed_positions: int = 0
    wins: int = 0

    @property
    def win_rate(self) -> Decimal | None:
        """Wins / closed lifetimes (0–1, four places); None before the first close."""
        return win_rate(self.wins, self.closed_positions)


@dataclass
class Portfolio:
    """An account's portfolio: per currency and per strategy (``StrategyBook``)."""

    account_id: int
    currencies: list[CurrencyBook] = field(default_factory=list)
    strategies: list[StrategyBook] = field(default_factory=list)


def account_portfolio(*, account_id: int, cash: dict[str, Decimal]) -> Portfolio:
    """The portfolio of account ``account_id`` whose starting cash per currency is ``cash``:
    one aggregate query over its strategy positions, one over its open positions priced by
    the last stored bar (``position_list``). Currencies are those of the cash and of the
    traded symbols, alphabetically; strategies by name."""
    closed = Q(status=PositionStatus.CLOSED)
    rows = (
        StrategyPosition.objects.filter(account_id=account_id)
        .values("strategy_id", "strategy__slug", "strategy__name", "symbol__currency")
        .annotate(
            realized=Sum("realized_pnl"),
            commissions=Sum("commission"),
            closed_count=Count("id", filter=closed),
            win_count=Count("id", filter=closed & Q(outcome="win")),
            average_r=Avg("r_multiple", filter=closed),
        )
        .order_by()
    )
    books: dict[tuple[int, str], StrategyBook] = {}
    for row in rows:
        books[(row["strategy_id"], row["symbol__currency"])] = StrategyBook(
            strategy_id=row["strategy_id"],
            strategy=row["strategy__slug"],
            strategy_name=row["strategy__name"],
            currency=row["symbol__currency"],
            realized_pnl=row["realized"],
            commission=row["commissions"],
            closed_positions=row["closed_count"],
            wins=row["win_count"],
            average_r=(
                None if row["average_r"] is None else row["average_r"].quantize(Decimal("0.0001"))
            ),
        )
    open_rows = list(
        StrategyPosition.objects.filter(
            account_id=account_id, status=PositionStatus.OPEN
        ).values_list(
            "strategy_id", "symbol_id", "symbol__currency", "side", "quantity", "average_cost"
        )
    )
    closes = last_closes(symbol_ids={row[1] for row in open_rows})
    for strategy_id, symbol_id, currency, side, quantity, average_cost in open_rows:
        book = books[(strategy_id, currency)]
        signed = -quantity if side == PositionSide.SHORT else quantity
        book.open_positions += 1
        book.open_quantity += signed
        close = closes.get(symbol_id)
        if close is None:
            book.unpriced_positions += 1
        else:
            book.unrealized_pnl += ((close - average_cost) * signed).quantize(Decimal("0.0001"))
    currencies = {
        code: CurrencyBook(currency=code, starting_cash=amount) for code, amount in cash.items()
    }
    for book in books.values():
        total = currencies.setdefault(
            book.currency, CurrencyBook(currency=book.currency, starting_cash=None)
        )
        total.open_positions += book.open_positions
        total.realized_pnl += book.realized_pnl
        total.unrealized_pnl += book.unrealized_pnl
        total.unpriced_positions += book.unpriced_positions
        total.commission += book.commission
        total.closed_positions += book.closed_positions
        total.wins += book.wins
    return Portfolio(
        account_id=account_id,
        currencies=[currencies[code] for code in sorted(currencies)],
        strategies=sorted(
            books.values(), key=lambda b: (b.strategy_name, b.strategy_id, b.currency)
        ),
    )
