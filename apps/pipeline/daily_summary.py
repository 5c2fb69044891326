"""The daily summary notification: per user subscribed to ``daily_summary``, what their live
strategies did in the UTC day so far — runs by status, orders by status, fills and realized
P&L (in each account's currency). Backtests and replays (evaluation runs, accounts with a
paper clock) are left out. Beat sends it at NOTIFY_DAILY_SUMMARY_AT (UTC)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Sum

from apps.lineage.models import EVALUATION_TRIGGERS, Run
from apps.notifications.models import NotificationEvent
from apps.notifications.services import notify, users_subscribed
from apps.orders.models import Fill, Order


@dataclass(frozen=True)
class DailySummary:
    """One user's day: run and order counts by status, the number of fills and the realized
    P&L (net of nothing: the fills' ``realized_pnl``) by currency."""

    runs: dict[str, int]
    orders: dict[str, int]
    fills: int
    realized: dict[str, Decimal]

    def text(self) -> str:
        """The summary as a few plain-text lines."""

        def counts(by_status: dict[str, int]) -> str:
            if not by_status:
                return "none"
            total = sum(by_status.values())
            parts = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
            return f"{total} ({parts})"

        realized = ", ".join(f"{amount:f} {ccy}" for ccy, amount in sorted(self.realized.items()))
        return (
            f"Runs: {counts(self.runs)}\nOrders: {counts(self.orders)}\n"
            f"Fills: {self.fills}\nRealized P&L: {realized or '0'}"
        )


def daily_summary(*, user_id: int, day_start: datetime, day_end: datetime) -> DailySummary:
    """What ``user_id``'s live strategies did between ``day_start`` and ``day_end`` (tz-aware
    UTC): runs created, orders created, fills executed in that time."""
    runs = (
        Run.objects.filter(
            strategy__owner_id=user_id, created_at__gte=day_start, created_at__lt=day_end
        )
        .exclude(trigger__in=EVALUATION_TRIGGERS)
        .values("status")
        .annotate(n=Count("id"))
    )
    orders = (
        Order.objects.filter(
            strategy__owner_id=user_id,
            account__paper_clock__isnull=True,
            created_at__gte=day_start,
            created_at__lt=day_end,
        )
        .values("status")
        .annotate(n=Count("id"))
    )
    fills = Fill.objects.filter(
        order__strategy__owner_id=user_id,
        order__account__paper_clock__isnull=True,
        executed_at__gte=day_start,
        executed_at__lt=day_end,
    )
    realized = fills.values("order__account__base_currency").annotate(pnl=Sum("realized_pnl"))
    return DailySummary(
        runs={row["status"]: row["n"] for row in runs},
        orders={row["status"]: row["n"] for row in orders},
        fills=fills.count(),
        realized={
            row["order__account__base_currency"]: row["pnl"] or Decimal(0) for row in realized
        },
    )


def daily_summaries_notify(*, now: datetime) -> int:
    """Send each user subscribed to ``daily_summary`` their summary of the UTC day of ``now``
    (from midnight to ``now``), once per user and day. Returns how many users were notified."""
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    sent = 0
    for user_id in users_subscribed(NotificationEvent.DAILY_SUMMARY):
        summary = daily_summary(user_id=user_id, day_start=day_start, day_end=now)
        sent += bool(
            notify(
                NotificationEvent.DAILY_SUMMARY,
                users=[user_id],
                title=f"Sibyl daily summary {day_start:%Y-%m-%d}",
                body=summary.text(),
                key=f"daily:{day_start:%Y-%m-%d}",
            )
        )
    return sent
