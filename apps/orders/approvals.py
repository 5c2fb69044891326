"""The approval queue (issue 17; openspec/specs/operations/spec.md, "Approval queue"): a
strategy whose approval is required has its sized bracket held, unsent, until a person approves
it (the quantity may be edited down), rejects it, or it expires.

- ``approval_hold`` (the order step): the run's pending bracket → ``awaiting_approval`` and one
  ``OrderApproval`` row with its expiry (``approval_expiry``: before the next bar).
- ``approval_approve``: under the approval's row lock the bracket becomes ``pending`` (resized
  when the quantity was edited down), committed, then it goes out through ``bracket_submit`` —
  the same submit-once path (client order references, claim) as an unattended bracket, so a
  second approval, concurrent or not, sends nothing.
- ``approval_reject`` and ``approvals_expire`` (beat task) cancel the unsent bracket with the
  reason.
- ``approval_links``: signed approve / reject links for notifications, valid until the expiry.

Quantities in shares/contracts/units (whole units, as sizing makes them); times tz-aware UTC.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from apps.common.decimals import plain
from apps.common.errors import SibylError
from apps.lineage.models import Run
from apps.marketdata.bar_sizes import FIXED_DURATIONS
from apps.orders.broker_selection import broker_for
from apps.orders.brokers import Broker
from apps.orders.locks import orders_lock
from apps.orders.models import ApprovalStatus, Order, OrderApproval, OrderStatus
from apps.orders.run_notes import run_note
from apps.orders.services import bracket_submit
from apps.orders.transitions import order_transition
from apps.strategies.live_trading import may_trade_live
from apps.strategies.models import Approval, Strategy, TradingMode
from apps.trading.selectors import accounts_visible_to
from apps.trading.trading_state import orders_refusal

EXPIRED_REASON = "approval expired"
# A bar size without a fixed duration (monthly): a month of 31 days at most.
LONGEST_BAR = timedelta(days=31)
LINK_SALT = "sibyl.orders.approval-link"


class ApprovalError(SibylError):
    """The approval cannot be decided as asked: already decided, expired, or the kill switch
    refuses orders now. The API answers 409 with the reason."""

    http_status = 409


class ApprovalNotAllowedError(SibylError):
    """The user may see the approval but not decide it (a live account's approval needs the
    ``strategies.trade_live`` permission). The API answers 403."""

    http_status = 403


class ApprovalQuantityError(SibylError):
    """The approved quantity is not a whole number above 0 and at most the requested one (a
    quantity is edited down only). The API answers 400."""


class ApprovalLinkError(SibylError):
    """A signed approval link that is malformed, tampered with or past its expiry (400)."""


def approval_reason(strategy: Strategy) -> str:
    """Why ``strategy``'s brackets wait for approval, in the words lineage shows; "" when they
    do not (``Strategy.approval_required``)."""
    if not strategy.approval_required:
        return ""
    if strategy.approval == Approval.AUTO:
        return "the strategy trades live and its approval is auto (live: required)"
    return "the strategy's approval is required"


def approval_expiry(*, as_of: datetime, bar_size: str, now: datetime) -> datetime:
    """When a bracket held at ``now`` for a run as of ``as_of`` expires: before the next bar,
    i.e. ``as_of`` + one bar (``FIXED_DURATIONS``; monthly bars: 31 days). A run dated in the
    past whose next bar is already due (``as_of`` + one bar <= ``now``) gets one bar from
    ``now`` instead, so a person has the time of one bar to decide. All tz-aware UTC."""
    bar = FIXED_DURATIONS.get(bar_size, LONGEST_BAR)
    expiry = as_of + bar
    return expiry if expiry > now else now + bar


def _bracket(parent_id: int) -> list[int]:
    return [parent_id, *Order.objects.filter(parent_id=parent_id).values_list("pk", flat=True)]


def approval_hold(
    *, orders: list[Order], run: Run, strategy: Strategy, why: str, now: datetime | None = None
) -> OrderApproval:
    """Hold the run's pending bracket ``orders`` (entry first) for a person's approval: every
    order ``pending`` → ``awaiting_approval`` under row locks, and its ``OrderApproval``
    (requested quantity = the entry's, expiry ``approval_expiry``, ``why``) in one
    transaction. Idempotent per bracket: a retried order step gets the existing approval back.

    Raises ApprovalError when an order is no longer pending (sent or withdrawn meanwhile)."""
    now = now or timezone.now()
    parent = next(o for o in orders if o.parent_id is None)
    with transaction.atomic():
        locked = orders_lock(o.pk for o in orders)
        existing = OrderApproval.objects.filter(parent_id=parent.pk).first()
        if existing is not None:
            return existing
        if any(o.status != OrderStatus.PENDING for o in locked):
            moved = ", ".join(f"{o.client_order_ref} {o.status}" for o in locked)
            raise ApprovalError(f"the bracket is no longer pending ({moved}); nothing held")
        for order in locked:
            order_transition(order, to=OrderStatus.AWAITING_APPROVAL)
        return OrderApproval.objects.create(
            parent_id=parent.pk,
            run=run,
            strategy=strategy,
            account_id=strategy.account_id,
            requested_quantity=parent.quantity,
            expires_at=approval_expiry(as_of=run.as_of, bar_size=strategy.bar_size, now=now),
            why=why,
        )


def approvals_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[OrderApproval]:
    """The approvals ``user`` may see: those of accounts they own or are a member of (staff:
    every one; anonymous: none) — the people who may trade the account."""
    return OrderApproval.objects.filter(account__in=accounts_visible_to(user))


def approval_decide_check(*, approval: OrderApproval, user: User) -> None:
    """Refuse ``user`` deciding ``approval`` unless they may trade its account (owner, member
    or staff; ``approvals_visible_to``) and, for a live strategy, hold
    ``strategies.trade_live`` (``apps.strategies.live_trading``).

    Raises OrderApproval.DoesNotExist for a user who may not see it (the API's 404) and
    ApprovalNotAllowedError for a live approval without the permission (403)."""
    if not approvals_visible_to(user).filter(pk=approval.pk).exists():
        raise OrderApproval.DoesNotExist(f"no approval {approval.pk}")
    if approval.strategy.trading_mode == TradingMode.LIVE and not may_trade_live(user):
        raise ApprovalNotAllowedError(
            "approving a live strategy's order needs the strategies.trade_live permission"
        )


def _cancel_locked(approval: OrderApproval, *, status: str, reason: str) -> None:
    """Cancel the held bracket (every order still ``awaiting_approval``) with ``reason`` and
    end ``approval`` with ``status`` and ``reason``; inside a transaction holding its lock."""
    cancelled_at = timezone.now()
    for order in orders_lock(_bracket(approval.parent_id)):
        if order.status == OrderStatus.AWAITING_APPROVAL:
            order_transition(
                order, to=OrderStatus.CANCELLED, error_message=reason, cancelled_at=cancelled_at
            )
    approval.status, approval.reason = status, reason
    approval.save(update_fields=["status", "reason", "decided_by", "decided_at"])


def _lock(approval_id: int) -> OrderApproval:
    return (
        OrderApproval.objects.select_for_update(of=("self",))
        .select_related("strategy", "run")
        .get(pk=approval_id)
    )


def _note(approval: OrderApproval, **extra: Any) -> None:
    """Append an ``approval`` step to the run's lineage saying what was decided, by whom."""
    run_note(
        run=approval.run,
        name="approval",
        output={
            "approval": approval.pk,
            "status": approval.status,
            "requested_quantity": plain(approval.requested_quantity),
            "approved_quantity": (
                plain(approval.approved_quantity)
                if approval.approved_quantity is not None
                else None
            ),
            "decided_by": approval.decided_by.get_username() if approval.decided_by else None,
            "reason": approval.reason,
            **extra,
        },
    )


def _whole_quantity(quantity: Decimal, requested: Decimal) -> Decimal:
    if quantity != quantity.to_integral_value() or quantity <= 0 or quantity > requested:
        raise ApprovalQuantityError(
            f"quantity {plain(quantity)}: a whole number above 0 and at most the requested "
            f"{plain(requested)} (a quantity is edited down only)"
        )
    return quantity


@dataclass(frozen=True)
class ApprovalOutcome:
    """What ``approval_approve`` did: the approval as it is now and whether this call sent the
    bracket (False for a second approval of an approved bracket: nothing was sent again)."""

    approval: OrderApproval
    sent: bool


def approval_approve(
    *,
    approval_id: int,
    user: User,
    quantity: Decimal | None = None,
    broker: Broker | None = None,
    now: datetime | None = None,
) -> ApprovalOutcome:
    """Approve the held bracket and send it, once.

    Input: ``quantity`` (None: the requested one) may only be lower — the entry, take-profit
    and stop-loss are all resized to it; their prices stay, so reward/risk is unchanged.
    ``broker`` defaults to the strategy's (``broker_for``); ``now`` (UTC) is when it reaches
    the market.

    Under the approval's row lock: an approval already approved is returned unchanged with
    ``sent`` False (a double click sends nothing twice); one rejected or expired raises
    ApprovalError; one past its expiry is expired now (reason "approval expired") and raises
    ApprovalError; when the account's trading state (kill switch) refuses the bracket, raises
    ApprovalError with its reason and the approval stays pending. Otherwise the bracket becomes
    ``pending``, the approval ``approved`` with ``decided_by``/``decided_at``, committed; then
    ``bracket_submit`` sends it (the kill switch is checked again after its claim) and an
    ``approval`` step is noted on the run.

    The conflict policy is not decided again: the held bracket counted as a working entry for
    every decision since it was placed, so its slot was kept for it.

    Raises ApprovalQuantityError, ApprovalNotAllowedError, OrderApproval.DoesNotExist (not
    visible to ``user``), and what ``bracket_submit`` raises (BrokerRejectedError,
    BrokerUnavailableError: the orders keep the reason; a failed one is retried by the retry
    pass).
    """
    now = now or timezone.now()
    with transaction.atomic():
        approval = _lock(approval_id)
        approval_decide_check(approval=approval, user=user)
        if approval.status == ApprovalStatus.APPROVED:
            return ApprovalOutcome(approval, sent=False)
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalError(f"approval {approval.pk} is {approval.status}: {approval.reason}")
        if approval.expires_at <= now:
            _cancel_locked(approval, status=ApprovalStatus.EXPIRED, reason=EXPIRED_REASON)
            expired = True
        else:
            expired = False
            approved = _whole_quantity(
                quantity if quantity is not None else approval.requested_quantity,
                approval.requested_quantity,
            )
            orders = orders_lock(_bracket(approval.parent_id))
            refusal = orders_refusal(account_id=approval.account_id, roles=[o.role for o in orders])
            if refusal:
                raise ApprovalError(f"not approved: {refusal}")
            for order in orders:
                order_transition(order, to=OrderStatus.PENDING, quantity=approved)
            approval.status = ApprovalStatus.APPROVED
            approval.approved_quantity = approved
            approval.decided_by, approval.decided_at = user, now
            approval.save(update_fields=["status", "approved_quantity", "decided_by", "decided_at"])
    if expired:
        _note(approval)
        raise ApprovalError(
            f"approval {approval.pk} expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC"
        )
    strategy = approval.strategy
    broker = broker or broker_for(
        trading_mode=strategy.trading_mode, account_broker=strategy.account.broker
    )
    try:
        bracket_submit(orders=orders, broker=broker, market_time=now, sync=True)
    finally:
        fresh = Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk")
        _note(approval, orders={o.client_order_ref: o.status for o in fresh})
    return ApprovalOutcome(approval, sent=True)


def approval_reject(*, approval_id: int, user: User, reason: str) -> OrderApproval:
    """Reject the held bracket: its orders are cancelled unsent with "approval rejected:
    <reason>", the approval ``rejected`` with ``reason``, ``decided_by`` and ``decided_at``;
    an ``approval`` step is noted on the run.

    Raises ApprovalError when it is no longer pending, ApprovalNotAllowedError and
    OrderApproval.DoesNotExist as ``approval_decide_check``."""
    reason = reason.strip() or "no reason given"
    with transaction.atomic():
        approval = _lock(approval_id)
        approval_decide_check(approval=approval, user=user)
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalError(f"approval {approval.pk} is {approval.status}: nothing to reject")
        approval.decided_by, approval.decided_at = user, timezone.now()
        _cancel_locked(
            approval, status=ApprovalStatus.REJECTED, reason=f"approval rejected: {reason}"
        )
    _note(approval)
    return approval


def approvals_expire(*, now: datetime | None = None) -> list[int]:
    """Expire every pending approval whose ``expires_at`` passed (the beat task): its bracket is
    cancelled unsent with the reason "approval expired" and an ``approval`` step is noted on
    its run. Returns the ids expired (one transaction each; an approval decided meanwhile is
    left as it is)."""
    now = now or timezone.now()
    due = OrderApproval.objects.filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
    expired: list[int] = []
    for approval_id in due.order_by("expires_at").values_list("pk", flat=True):
        with transaction.atomic():
            approval = _lock(approval_id)
            if approval.status != ApprovalStatus.PENDING:
                continue
            approval.decided_at = now
            _cancel_locked(approval, status=ApprovalStatus.EXPIRED, reason=EXPIRED_REASON)
        _note(approval)
        expired.append(approval_id)
    return expired


def approvals_withdraw(
    *, orders: QuerySet[Order], reason: str, user: User | None = None
) -> list[str]:
    """Reject every pending approval whose held entry is among ``orders`` (a close-all's
    scope): its bracket is cancelled unsent with ``reason``, the approval ``rejected`` by
    ``user`` (None: the system) and an ``approval`` step noted on its run — so that approving
    it later cannot open a position the close-all meant to end. Returns the entries' client
    order references (one transaction each; one decided meanwhile is left as it is)."""
    held = OrderApproval.objects.filter(status=ApprovalStatus.PENDING, parent__in=orders)
    withdrawn: list[str] = []
    for approval_id in held.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            approval = _lock(approval_id)
            if approval.status != ApprovalStatus.PENDING:
                continue
            approval.decided_by, approval.decided_at = user, timezone.now()
            _cancel_locked(approval, status=ApprovalStatus.REJECTED, reason=reason)
        _note(approval)
        withdrawn.append(approval.parent.client_order_ref)
    return withdrawn


def approval_links(approval: OrderApproval, *, base_url: str = "") -> dict[str, str]:
    """Signed approve and reject links for a notification: ``{"approve_url", "reject_url"}``.

    Each carries a ``django.core.signing`` token (approval id, decision, expiry) valid until
    the approval's ``expires_at``. Opening one (GET) shows the approval; only a POST by a
    logged-in user allowed to decide it acts (``approval_link_read``). ``base_url`` (e.g.
    ``https://sibyl.example``; default the ``SIBYL_PUBLIC_URL`` setting when set) makes them
    absolute; otherwise they are paths."""
    base = (base_url or settings.SIBYL_PUBLIC_URL).rstrip("/")
    links = {}
    for decision in ("approve", "reject"):
        token = signing.dumps(
            {"a": approval.pk, "d": decision, "e": int(approval.expires_at.timestamp())},
            salt=LINK_SALT,
        )
        links[f"{decision}_url"] = base + reverse("approval-link", kwargs={"token": token})
    return links


@dataclass(frozen=True)
class ApprovalLink:
    """A verified approval link: the approval id and the decision it offers."""

    approval_id: int
    decision: str


def approval_link_read(token: str, *, now: datetime | None = None) -> ApprovalLink:
    """Verify a token of ``approval_links``. Raises ApprovalLinkError when it is malformed,
    signed with another key or salt, or past the approval's expiry it carries."""
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature as error:
        raise ApprovalLinkError("invalid approval link") from error
    if not isinstance(data, dict) or data.get("d") not in ("approve", "reject"):
        raise ApprovalLinkError("invalid approval link")
    if now.timestamp() >= float(data["e"]):
        raise ApprovalLinkError("the approval link expired with the approval")
    return ApprovalLink(approval_id=int(data["a"]), decision=str(data["d"]))


def approvals_pending_count(*, account_ids: Iterable[int] | None = None) -> int:
    """How many approvals wait (for metrics and badges); only ``account_ids``' when given."""
    waiting = OrderApproval.objects.filter(status=ApprovalStatus.PENDING)
    if account_ids is not None:
        waiting = waiting.filter(account_id__in=list(account_ids))
    return waiting.count()
