"""Gauges evaluated at scrape time, from the database and Redis.

A ``prometheus_client`` custom collector (https://prometheus.github.io/client_python/
collector/custom/): each scrape of ``/metrics`` runs four small queries (accounts' trading
state, the global state, positions grouped by strategy and account, open positions with
their latest close) and one Redis round trip
per Celery queue. Only configured strategies and accounts are labelled — a backtest's hidden
strategy copy (``backtest_of`` set) and its paper account (``paper_clock`` set) never are — so
label sets stay bounded by what operators configured.

Extending: append a callable returning metric families to ``STATE_SOURCES``; it is called on
every scrape, so keep it one query.
"""

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal

import redis
import structlog
from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.marketdata.models import Bar
from apps.orders.models import ApprovalStatus, OrderApproval
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.trading.models import Account, TradingState
from apps.trading.trading_state import global_trading_state

logger = structlog.get_logger(__name__)

# The trading state as a number, by severity: alert on `> 0`, graph the worst with max().
STATE_VALUE = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
# The Celery queues whose depth is exported (celery_app.app: task_queues).
QUEUES = ("runs", "control", "notifications")


def trading_state_metrics() -> Iterator[Metric]:
    """``sibyl_trading_state_global`` and ``sibyl_trading_state{account_id, account}``:
    0 active, 1 reducing, 2 halted; accounts that are not a backtest's."""
    latest = global_trading_state()
    state = TradingState(latest.state) if latest is not None else TradingState.ACTIVE
    yield GaugeMetricFamily(
        "sibyl_trading_state_global",
        "The global trading state: 0 active, 1 reducing, 2 halted.",
        value=STATE_VALUE[state],
    )
    family = GaugeMetricFamily(
        "sibyl_trading_state",
        "An account's own trading state: 0 active, 1 reducing, 2 halted (the global state "
        "applies on top when more restrictive).",
        labels=["account_id", "account"],
    )
    accounts = Account.objects.filter(paper_clock__isnull=True).values_list(
        "pk", "name", "trading_state"
    )
    for pk, name, account_state in accounts:
        family.add_metric([str(pk), name], STATE_VALUE[TradingState(account_state)])
    yield family


def position_metrics() -> Iterator[Metric]:
    """``sibyl_positions_open{strategy, account_id}`` (open strategy positions) and
    ``sibyl_realized_pnl{strategy, account_id, currency}`` (realized P&L of all the
    strategy's positions there, commissions included, in the symbol's currency): one grouped
    query over configured strategies' positions."""
    rows = (
        StrategyPosition.objects.filter(strategy__backtest_of__isnull=True)
        .values("strategy__slug", "account_id", "symbol__currency")
        .annotate(
            open=Count("pk", filter=Q(status=PositionStatus.OPEN)),
            realized=Sum("realized_pnl"),
        )
        .order_by()
    )
    open_family = GaugeMetricFamily(
        "sibyl_positions_open",
        "Open strategy positions, by strategy slug and account id.",
        labels=["strategy", "account_id"],
    )
    pnl_family = GaugeMetricFamily(
        "sibyl_realized_pnl",
        "Realized P&L (commissions included) of a strategy's positions in an account, in the "
        "symbol's currency.",
        labels=["strategy", "account_id", "currency"],
    )
    open_counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["strategy__slug"], str(row["account_id"]))
        open_counts[key] = open_counts.get(key, 0) + row["open"]
        pnl_family.add_metric([*key, row["symbol__currency"]], float(row["realized"] or Decimal(0)))
    for key, count in open_counts.items():
        open_family.add_metric(list(key), count)
    yield open_family
    yield pnl_family


def unrealized_pnl_metrics() -> Iterator[Metric]:
    """``sibyl_unrealized_pnl{strategy, account_id, currency}``: open strategy positions
    marked at the latest stored close of the strategy's bar size (sign × quantity × (close −
    average cost), in the symbol's currency; positions of a symbol with no bar count 0). One
    query: the open positions, each with its mark from the bars' unique (symbol, bar size,
    time) index."""
    mark = Bar.objects.filter(
        symbol_id=OuterRef("symbol_id"), bar_size=OuterRef("strategy__bar_size")
    ).order_by("-ts")
    rows = (
        StrategyPosition.objects.filter(
            status=PositionStatus.OPEN, strategy__backtest_of__isnull=True
        )
        .annotate(mark=Subquery(mark.values("close")[:1]))
        .values_list(
            "strategy__slug",
            "account_id",
            "symbol__currency",
            "side",
            "quantity",
            "average_cost",
            "mark",
        )
    )
    totals: dict[tuple[str, str, str], Decimal] = {}
    for slug, account_id, currency, side, quantity, cost, close in rows:
        key = (slug, str(account_id), currency)
        sign = 1 if side == PositionSide.LONG else -1
        value = sign * quantity * (close - cost) if close is not None else Decimal(0)
        totals[key] = totals.get(key, Decimal(0)) + value
    family = GaugeMetricFamily(
        "sibyl_unrealized_pnl",
        "Unrealized P&L of a strategy's open positions in an account at the latest stored "
        "close of its bar size, in the symbol's currency.",
        labels=["strategy", "account_id", "currency"],
    )
    for key, value in totals.items():
        family.add_metric(list(key), float(value))
    yield family


def queue_metrics() -> Iterator[Metric]:
    """``sibyl_queue_depth{queue}``: messages waiting in each Celery queue (Redis ``LLEN`` of
    the queue's list on the broker, ``CELERY_BROKER_URL``). A broker that does not answer
    within 0.5 s yields no sample, and ``sibyl_queue_depth_up`` 0."""
    family = GaugeMetricFamily(
        "sibyl_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                pipe.llen(queue)
            depths = pipe.execute()
    except redis.RedisError as error:
        logger.warning("metrics_queue_depth_failed", error=str(error))
        yield GaugeMetricFamily(
            "sibyl_queue_depth_up", "Whether the broker answered the queue depth.", value=0
        )
        return
    finally:
        client.close()
    for queue, depth in zip(QUEUES, depths, strict=True):
        family.add_metric([queue], int(depth))
    yield family
    yield GaugeMetricFamily(
        "sibyl_queue_depth_up", "Whether the broker answered the queue depth.", value=1
    )


def approval_metrics() -> Iterator[Metric]:
    """``sibyl_approvals_waiting{strategy}``: brackets held for a person's approval (pending
    ``OrderApproval`` rows) per strategy slug; one grouped query."""
    family = GaugeMetricFamily(
        "sibyl_approvals_waiting",
        "Brackets awaiting a person's approval, by strategy.",
        labels=["strategy"],
    )
    rows = (
        OrderApproval.objects.filter(status=ApprovalStatus.PENDING)
        .values_list("strategy__slug")
        .annotate(waiting=Count("pk"))
        .order_by()
    )
    for slug, waiting in rows:
        family.add_metric([slug], waiting)
    yield family


# Every source of scrape-time gauges, in order; append to extend (see the module docstring).
STATE_SOURCES: list[Callable[[], Iterable[Metric]]] = [
    trading_state_metrics,
    approval_metrics,
    position_metrics,
    unrealized_pnl_metrics,
    queue_metrics,
]


class StateCollector(Collector):
    """Yields every ``STATE_SOURCES`` family on each collection (one scrape)."""

    def collect(self) -> Iterator[Metric]:
        """The gauges of every source, read now; raises what a source's query raises."""
        for source in STATE_SOURCES:
            yield from source()
