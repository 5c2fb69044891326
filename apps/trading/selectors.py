"""Reads of trading accounts: who may see and trade which."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from apps.common.decimals import plain
from apps.trading.models import Account


def accounts_of(*, user_id: int | None) -> QuerySet[Account]:
    """Accounts ``user_id`` owns or is a member of (None: the operator's, ownerless ones)."""
    if user_id is None:
        return Account.objects.filter(owner__isnull=True)
    member_of = Account.members.through.objects.filter(user_id=user_id).values("account_id")
    return Account.objects.filter(Q(owner_id=user_id) | Q(pk__in=member_of))


def accounts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Every account for staff; otherwise the user's own and those they are a member of;
    nothing for an anonymous user."""
    if not user.is_authenticated:
        return Account.objects.none()
    if getattr(user, "is_staff", False):
        return Account.objects.all()
    return accounts_of(user_id=user.pk)


# Order statuses of an order that is not finished: not yet at the broker, or working there
# (the values of ``apps.orders.models.OrderStatus``; accounts sit below orders).
UNFINISHED_ORDER_STATUSES = (
    "awaiting_approval",
    "pending",
    "submitting",
    "submitted",
    "partially_filled",
)


def account_exposure(
    *, account_id: int, strategy_id: int | None = None, limit: int = 5
) -> list[str]:
    """What is open on the account (only ``strategy_id``'s when given): each open strategy
    position as ``<strategy> LONG 10 <symbol> (position <id>)``, then each unfinished order
    (pending, submitting, submitted, partially filled) as ``<strategy> order <id> BUY 10
    <symbol> submitted``; at most ``limit`` of each kind, then ``… and N more``. Empty when
    nothing is open. Quantities in shares/contracts/units."""
    account = Account(pk=account_id)
    positions = account.strategy_positions.filter(status="open").order_by("pk")
    orders = account.orders.filter(status__in=UNFINISHED_ORDER_STATUSES).order_by("pk")
    if strategy_id is not None:
        positions = positions.filter(strategy_id=strategy_id)
        orders = orders.filter(run__strategy_id=strategy_id)
    phrases = [
        f"{row['strategy__name']} {row['side']} {plain(row['quantity'])} "
        f"{row['symbol__symbol']} (position {row['pk']})"
        for row in positions.values("pk", "strategy__name", "side", "quantity", "symbol__symbol")[
            :limit
        ]
    ]
    if (more := positions.count() - limit) > 0:
        phrases.append(f"… and {more} more open position(s)")
    phrases += [
        f"{row['run__strategy__name']} order {row['pk']} {row['side']} "
        f"{plain(row['quantity'])} {row['symbol__symbol']} {row['status']}"
        for row in orders.values(
            "pk", "run__strategy__name", "side", "quantity", "symbol__symbol", "status"
        )[:limit]
    ]
    if (more := orders.count() - limit) > 0:
        phrases.append(f"… and {more} more working order(s)")
    return phrases
