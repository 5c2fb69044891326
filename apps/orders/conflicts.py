"""The cross-strategy conflict policy: may a strategy's new entry go out while other strategies
on the same account hold or work the same symbol? (openspec/specs/accounts/conflict-policy.md)

The rules (``conflict_decide``) read nothing from the database: the policy resolved for the
(account, symbol) and the facts — every strategy's open positions and unfilled working entries
in the symbol on the account — go in, a ``ConflictDecision`` comes out. ``entry_place`` takes
the per-(account, symbol) lock, gathers the facts, decides and creates the pending bracket in
one transaction, so the next run on that (account, symbol) decides with this bracket counted;
``entry_displace`` then (outside the lock) cancels the entries ``strongest_wins`` displaced.

Quantities in shares/contracts/units; confidences 0–1.
"""

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.common.decimals import plain
from apps.lineage.models import Run
from apps.orders.brokers import BrokerUnavailableError
from apps.orders.cancellation import OrderNotWorkingError, order_cancel
from apps.orders.locks import orders_lock
from apps.orders.models import Order, OrderReason, OrderRole, OrderStatus, PositionAction
from apps.orders.run_notes import run_note
from apps.orders.selectors import WORKING_ENTRY_STATUSES
from apps.orders.services import bracket_create
from apps.orders.transitions import order_transition
from apps.positions.models import PositionSide, PositionStatus, StrategyPosition
from apps.signals.models import Signal, SignalStatus
from apps.strategies.models import Strategy
from apps.trading.locks import account_symbols_lock
from apps.trading.models import (
    Account,
    AccountSymbol,
    OppositePolicy,
    PositionMode,
    SameDirectionPolicy,
)

CHECK_NAME = "account_conflict_policy"
# An entry a stronger signal may displace: nothing of it filled, and not finished.
DISPLACEABLE_STATUSES = (OrderStatus.PENDING, OrderStatus.SUBMITTING, OrderStatus.SUBMITTED)


@dataclass(frozen=True)
class ConflictPolicy:
    """The conflict policy in force for one (account, symbol): the account's fields with the
    symbol's non-blank overrides applied. ``max_position_per_symbol`` None: no account limit."""

    position_mode: str
    opposite_policy: str
    same_direction_policy: str
    max_position_per_symbol: Decimal | None

    def describe(self) -> str:
        """``netting, opposite reject, same direction accumulate, max 100`` (for details)."""
        limit = (
            f"max {plain(self.max_position_per_symbol)}"
            if self.max_position_per_symbol is not None
            else "no max"
        )
        opposite = (
            "opposite allowed (hedge)"
            if self.position_mode == PositionMode.HEDGE
            else f"opposite {self.opposite_policy}"
        )
        same = f"same direction {self.same_direction_policy}"
        return f"{self.position_mode}, {opposite}, {same}, {limit}"


def conflict_policy_resolve(*, account: Account, override: AccountSymbol | None) -> ConflictPolicy:
    """The policy of ``account`` for one symbol: each of ``override``'s opposite policy, same
    direction policy and max position per symbol replaces the account's when set (blank or
    None keeps the account's). The position mode is always the account's."""
    opposite = (override.opposite_policy if override else "") or account.opposite_policy
    same = (override.same_direction_policy if override else "") or account.same_direction_policy
    limit = (
        override.max_position_per_symbol
        if override is not None and override.max_position_per_symbol is not None
        else account.max_position_per_symbol
    )
    return ConflictPolicy(account.position_mode, opposite, same, limit)


@dataclass(frozen=True)
class HeldPosition:
    """An open strategy position in the symbol: ``side`` LONG/SHORT, ``quantity`` held."""

    strategy_id: int
    strategy_name: str
    side: str
    quantity: Decimal


@dataclass(frozen=True)
class WorkingEntry:
    """An entry order that may still add to a position: ``side`` LONG (a BUY entry) or SHORT,
    ``quantity`` and ``filled_quantity`` of the order, its ``status`` and the ``confidence``
    of the signal behind it."""

    order_id: int
    strategy_id: int
    strategy_name: str
    side: str
    quantity: Decimal
    filled_quantity: Decimal
    status: str
    confidence: Decimal

    @property
    def unfilled(self) -> Decimal:
        """What may still fill: quantity − filled quantity."""
        return self.quantity - self.filled_quantity

    @property
    def displaceable(self) -> bool:
        """Nothing filled and not yet finished (``strongest_wins`` may cancel it)."""
        return self.filled_quantity == 0 and self.status in DISPLACEABLE_STATUSES


@dataclass(frozen=True)
class ConflictDecision:
    """The policy's answer for a new entry: ``allowed``, the ``quantity`` it may go out with
    (the asked quantity, or less when ``accumulate`` caps it to the room left), the entry
    orders it displaces (``strongest_wins``: ids, cancelled after the lock), and the check
    detail that says why."""

    allowed: bool
    quantity: Decimal
    detail: str
    displaced: tuple[WorkingEntry, ...] = ()

    def as_check(self) -> dict[str, Any]:
        """The decision as a signal check (``name``, ``passed``, ``detail``), as the Signal's
        ``checks`` keep them."""
        return {"name": CHECK_NAME, "passed": self.allowed, "detail": self.detail}


def _holding(positions: list[HeldPosition], entries: list[WorkingEntry], side: str) -> list[str]:
    """What the given rows hold or work on ``side``, as ``<strategy> holds LONG 10`` phrases."""
    held = [
        f"{p.strategy_name} holds {p.side} {plain(p.quantity)}"
        for p in positions
        if p.side == side and p.quantity > 0
    ]
    worked = [
        f"{e.strategy_name} works {e.side} {plain(e.unfilled)} (order {e.order_id})"
        for e in entries
        if e.side == side and e.unfilled > 0
    ]
    return held + worked


def _listed(phrases: list[str], limit: int = 3) -> str:
    """The first ``limit`` phrases joined by ``; `` and how many more there are."""
    more = f"; and {len(phrases) - limit} more" if len(phrases) > limit else ""
    return "; ".join(phrases[:limit]) + more


def conflict_decide(
    *,
    policy: ConflictPolicy,
    strategy_id: int,
    side: str,
    quantity: Decimal,
    confidence: Decimal,
    positions: list[HeldPosition],
    entries: list[WorkingEntry],
) -> ConflictDecision:
    """Decide a new entry of ``strategy_id`` on ``side`` (LONG for a BUY, SHORT for a SELL)
    for ``quantity`` at signal ``confidence``, given every strategy's open ``positions`` and
    working ``entries`` in the symbol on the account (the strategy's own included).

    1. Opposite side (other strategies only): allowed in hedge mode; in netting mode allowed
       with ``allow``, refused with ``reject`` while another strategy holds or works it.
    2. Same side:
       - ``accumulate``: Σ every strategy's (own included) same-side open quantity + unfilled
         working entries + the new quantity may not exceed the max position per symbol; the
         quantity is capped to the room left, refused when none is left (no max: allowed).
       - ``reject_duplicates``: refused while another strategy holds or works the side.
       - ``strongest_wins``: a side another strategy holds (an open position, or an entry with
         a fill) is never taken away: refused as with ``reject_duplicates``. Otherwise, against
         other strategies' unfilled entries the higher confidence keeps the slot: a strictly
         stronger newcomer displaces them all (they are returned in ``displaced``), an equal
         or weaker one is refused naming the strongest.
    The strategy's own position and entries are the signal checks' business (``signal_judge``),
    except that they count toward the account's max in ``accumulate``.
    """
    opposite = PositionSide.SHORT if side == PositionSide.LONG else PositionSide.LONG
    others_positions = [p for p in positions if p.strategy_id != strategy_id]
    others_entries = [e for e in entries if e.strategy_id != strategy_id]
    against = _holding(others_positions, others_entries, opposite)
    prefix = policy.describe()
    netting_reject = (
        policy.position_mode == PositionMode.NETTING
        and policy.opposite_policy == OppositePolicy.REJECT
    )
    if against and netting_reject:
        return ConflictDecision(
            False,
            Decimal(0),
            f"{side} refused: {_listed(against)} on the opposite side ({prefix})",
        )
    same = policy.same_direction_policy
    duplicates = _holding(others_positions, others_entries, side)
    if same == SameDirectionPolicy.REJECT_DUPLICATES and duplicates:
        return ConflictDecision(
            False, Decimal(0), f"{side} refused: {_listed(duplicates)} ({prefix})"
        )
    if same == SameDirectionPolicy.STRONGEST_WINS and duplicates:
        return _strongest(side, confidence, quantity, others_positions, others_entries, prefix)
    if same == SameDirectionPolicy.ACCUMULATE and policy.max_position_per_symbol is not None:
        return _accumulate(
            policy.max_position_per_symbol, side, quantity, positions, entries, prefix
        )
    note = f"; {_listed(duplicates)}" if duplicates else ""
    if against:
        note += f"; {_listed(against)} on the opposite side"
    return ConflictDecision(True, quantity, f"{side} {plain(quantity)} allowed ({prefix}){note}")


def _strongest(
    side: str,
    confidence: Decimal,
    quantity: Decimal,
    positions: list[HeldPosition],
    entries: list[WorkingEntry],
    prefix: str,
) -> ConflictDecision:
    """``strongest_wins`` against other strategies that hold or work ``side``."""
    same_entries = [e for e in entries if e.side == side and e.unfilled > 0]
    holders = _holding(positions, [e for e in same_entries if not e.displaceable], side)
    if holders:
        return ConflictDecision(
            False,
            Decimal(0),
            f"{side} refused: {_listed(holders)}; a side another strategy holds is never "
            f"taken away ({prefix})",
        )
    strongest = max(same_entries, key=lambda e: (e.confidence, -e.order_id))
    if confidence <= strongest.confidence:
        return ConflictDecision(
            False,
            Decimal(0),
            f"{side} refused: {strongest.strategy_name}'s unfilled entry (order "
            f"{strongest.order_id}) is stronger or equal, confidence "
            f"{plain(strongest.confidence)} vs {plain(confidence)} ({prefix})",
        )
    names = ", ".join(
        f"{e.strategy_name} (order {e.order_id}, confidence {plain(e.confidence)})"
        for e in same_entries
    )
    return ConflictDecision(
        True,
        quantity,
        f"{side} {plain(quantity)} allowed: confidence {plain(confidence)} displaces the "
        f"unfilled entries of {names} ({prefix})",
        displaced=tuple(same_entries),
    )


def _accumulate(
    limit: Decimal,
    side: str,
    quantity: Decimal,
    positions: list[HeldPosition],
    entries: list[WorkingEntry],
    prefix: str,
) -> ConflictDecision:
    """``accumulate`` with an account max: cap to the room left on ``side``."""
    used = sum((p.quantity for p in positions if p.side == side), Decimal(0)) + sum(
        (e.unfilled for e in entries if e.side == side), Decimal(0)
    )
    room = max(limit - used, Decimal(0))
    capped = min(quantity, room)
    sums = f"{plain(used)} held or working on {side} of max {plain(limit)}"
    if capped <= 0:
        return ConflictDecision(False, Decimal(0), f"{side} refused: {sums}, no room ({prefix})")
    if capped < quantity:
        return ConflictDecision(
            True,
            capped,
            f"{side} capped from {plain(quantity)} to {plain(capped)}: {sums} ({prefix})",
        )
    return ConflictDecision(True, quantity, f"{side} {plain(quantity)} allowed: {sums} ({prefix})")


def conflict_facts(
    *, account_id: int, symbol_id: int
) -> tuple[list[HeldPosition], list[WorkingEntry]]:
    """Every strategy's open positions and working entry orders (pending, submitting,
    submitted, partially filled) in the symbol on the account, own included."""
    positions = [
        HeldPosition(row["strategy_id"], row["strategy__name"], row["side"], row["quantity"])
        for row in StrategyPosition.objects.filter(
            account_id=account_id, symbol_id=symbol_id, status=PositionStatus.OPEN
        )
        .order_by()  # no sort: the rules do not depend on the order
        .values("strategy_id", "strategy__name", "side", "quantity")
    ]
    entries = [
        WorkingEntry(
            order_id=row["pk"],
            strategy_id=row["run__strategy_id"],
            strategy_name=row["run__strategy__name"],
            side=PositionSide.LONG if row["side"] == "BUY" else PositionSide.SHORT,
            quantity=row["quantity"],
            filled_quantity=row["filled_quantity"],
            status=row["status"],
            confidence=row["signal__confidence"],
        )
        for row in Order.objects.filter(
            account_id=account_id,
            symbol_id=symbol_id,
            role=OrderRole.ENTRY,
            status__in=WORKING_ENTRY_STATUSES,
        )
        .order_by("pk")
        .values(
            "pk",
            "run__strategy_id",
            "run__strategy__name",
            "side",
            "quantity",
            "filled_quantity",
            "status",
            "signal__confidence",
        )
    ]
    return positions, entries


def _signal_check_record(signal: Signal, check: dict[str, Any]) -> None:
    """Append ``check`` to the signal's checks (replacing an earlier one of the same name); a
    failed one also goes to the rejection reasons and makes the signal rejected."""
    signal.checks = [c for c in signal.checks if c.get("name") != CHECK_NAME] + [check]
    fields = ["checks"]
    if not check["passed"]:
        signal.rejection_reasons = [*signal.rejection_reasons, check["detail"]]
        signal.status = SignalStatus.REJECTED
        fields += ["rejection_reasons", "status"]
    signal.save(update_fields=fields)


@dataclass
class EntryPlacement:
    """What ``entry_place`` decided for a run: the ``decision`` and the run's pending bracket
    (empty when refused); ``claimed`` when the bracket was created already claimed for
    submission (``submitting``, attempts 1)."""

    decision: ConflictDecision
    orders: list[Order] = field(default_factory=list)
    claimed: bool = False


def entry_place(
    *,
    run: Run,
    signal: Signal,
    strategy: Strategy,
    quantity: Decimal,
    broker_name: str,
    reason: str = OrderReason.SIGNAL,
    action: PositionAction | None = None,
    scale_in_position: StrategyPosition | None = None,
    claim: bool = False,
) -> EntryPlacement:
    """Decide the conflict policy for the run's accepted ``signal`` and create its pending
    bracket (``bracket_create``) for the allowed quantity, in one transaction under the
    (account, symbol) lock: two runs on the same (account, symbol) decide one after the other,
    the second seeing the first's bracket among the working entries.

    The decision is recorded on the signal as the ``account_conflict_policy`` check (failed:
    in its rejection reasons too, and the signal rejected); refused, no order is created. A run
    that already has its bracket gets it back without a new decision (idempotent per run).
    ``reason``, ``action`` and ``scale_in_position`` go to ``bracket_create`` (a reverse's
    second leg; a scale-in's lone entry).

    With ``claim``, a new bracket that displaces nobody is claimed for submission in the same
    transaction (``submitting``, attempts 1: what ``bracket_submit`` would do first, one commit
    fewer); the caller then sends it with ``bracket_submit(claimed_by_caller=True)``. A bracket that
    displaces weaker entries stays pending (it may still have to be withdrawn unsent).
    """
    existing = list(Order.objects.filter(run=run).exclude(role=OrderRole.EXIT).order_by("pk"))
    if existing:
        check = next((c for c in signal.checks if c.get("name") == CHECK_NAME), None)
        detail = check["detail"] if check else "bracket already created"
        quantity = existing[0].quantity
        return EntryPlacement(ConflictDecision(True, quantity, detail), existing)
    side = PositionSide.LONG if signal.action == "BUY" else PositionSide.SHORT
    with transaction.atomic():
        locked = account_symbols_lock([(strategy.account_id, strategy.symbol_id)])
        override = locked[(strategy.account_id, strategy.symbol_id)]
        positions, entries = conflict_facts(
            account_id=strategy.account_id, symbol_id=strategy.symbol_id
        )
        decision = conflict_decide(
            policy=conflict_policy_resolve(account=override.account, override=override),
            strategy_id=strategy.pk,
            side=side,
            quantity=quantity,
            confidence=signal.confidence,
            positions=positions,
            entries=entries,
        )
        _signal_check_record(signal, decision.as_check())
        if not decision.allowed:
            return EntryPlacement(decision)
        orders = bracket_create(
            run=run,
            signal=signal,
            strategy=strategy,
            quantity=decision.quantity,
            broker_name=broker_name,
            reason=reason,
            action=action,
            scale_in_position=scale_in_position,
        )
        claimed = claim and not decision.displaced
        if claimed:
            for order in orders:
                order_transition(order, to=OrderStatus.SUBMITTING, attempts=order.attempts + 1)
    return EntryPlacement(decision, orders, claimed)


def bracket_withdraw(*, orders: list[Order], reason: str) -> bool:
    """Cancel a bracket that was never sent: every order still ``pending`` becomes
    ``cancelled`` with ``reason``, under row locks. Returns False (nothing written) when any
    order is no longer pending — it was claimed for submission and may be at a broker."""
    with transaction.atomic():
        locked = orders_lock(o.pk for o in orders)
        if any(o.status != OrderStatus.PENDING for o in locked):
            return False
        for order in locked:
            order_transition(
                order, to=OrderStatus.CANCELLED, error_message=reason, cancelled_at=timezone.now()
            )
    return True


@dataclass(frozen=True)
class Displacement:
    """What ``entry_displace`` did: entries cancelled, and those it could not take away
    (a fill came first, or their cancel did not go through), with why."""

    cancelled: list[int]
    kept: dict[int, str]


def _bracket_of(entry_id: int) -> list[Order]:
    return list(Order.objects.filter(pk=entry_id) | Order.objects.filter(parent_id=entry_id))


def displacement_reason(*, by: str, confidence: Decimal | None, entry: WorkingEntry) -> str:
    """The cancellation reason of a displaced ``entry``: ``displaced by the stronger signal of
    <by> (strongest_wins, confidence 0.9 vs 0.7)`` (the stronger signal's ``confidence``
    first, then the displaced entry's; without ``confidence`` only the policy)."""
    versus = (
        f", confidence {plain(confidence)} vs {plain(entry.confidence)}"
        if confidence is not None
        else ""
    )
    return f"displaced by the stronger signal of {by} (strongest_wins{versus})"


def _displaced_note(entry: WorkingEntry, *, by: str, confidence: Decimal | None) -> None:
    """Note on the displaced entry's run why its bracket was cancelled: a ``displaced`` step
    naming the stronger strategy and both confidences (``run_note``)."""
    run = Run.objects.get(orders__pk=entry.order_id)
    run_note(
        run=run,
        name="displaced",
        output={
            "reason": displacement_reason(by=by, confidence=confidence, entry=entry),
            "displaced_by": by,
            "confidence": plain(confidence) if confidence is not None else None,
            "displaced_confidence": plain(entry.confidence),
            "entry_order": entry.order_id,
        },
    )


def entry_displace(
    *,
    entries: tuple[WorkingEntry, ...],
    by: str,
    confidence: Decimal | None = None,
    wait_s: float = 5.0,
    poll_s: float = 0.05,
) -> Displacement:
    """Cancel the unfilled entries ``strongest_wins`` displaced (``by`` names the stronger
    strategy, ``confidence`` its signal's, for their cancellation reason:
    ``displacement_reason``); call it outside any transaction.

    A ``pending`` bracket (never sent) is withdrawn in the database; a ``submitted`` entry is
    cancelled at its broker through ``order_cancel`` (its children with it); a ``submitting``
    one (its submission in flight) is waited for up to ``wait_s`` seconds, then cancelled. An
    entry with any fill, or one that could not be cancelled, is kept and reported with the
    reason: the caller must not add its own entry on top of it. Each displaced run gets a
    ``displaced`` lineage note saying by whom and at which confidences (``run_note``).
    """
    cancelled: list[int] = []
    kept: dict[int, str] = {}
    for entry in entries:
        reason = displacement_reason(by=by, confidence=confidence, entry=entry)
        deadline = time.monotonic() + wait_s
        order = Order.objects.get(pk=entry.order_id)
        while order.status == OrderStatus.SUBMITTING and time.monotonic() < deadline:
            time.sleep(poll_s)
            order.refresh_from_db()
        if order.status == OrderStatus.PENDING and bracket_withdraw(
            orders=_bracket_of(order.pk), reason=reason
        ):
            cancelled.append(order.pk)
            _displaced_note(entry, by=by, confidence=confidence)
            continue
        order.refresh_from_db()
        if order.status in (OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED):
            try:
                order = order_cancel(order=order)
            except (OrderNotWorkingError, BrokerUnavailableError) as error:
                kept[order.pk] = f"order {order.pk} could not be cancelled: {error}"
                continue
            for cancelled_order in _bracket_of(order.pk):
                if cancelled_order.status == OrderStatus.CANCELLED:
                    note = ": ".join(filter(None, [cancelled_order.error_message, reason]))
                    Order.objects.filter(pk=cancelled_order.pk).update(error_message=note)
        if order.filled_quantity > 0:
            kept[order.pk] = f"{entry.strategy_name}'s entry (order {order.pk}) filled first"
        elif order.status == OrderStatus.CANCELLED:
            cancelled.append(order.pk)
            _displaced_note(entry, by=by, confidence=confidence)
        else:
            kept[order.pk] = f"{entry.strategy_name}'s entry (order {order.pk}) is {order.status}"
    return Displacement(cancelled, kept)


def conflict_lost(*, signal: Signal, orders: list[Order], why: str) -> ConflictDecision:
    """After a displacement that did not go through: withdraw the run's own bracket (never
    sent) and record the conflict check failed with ``why`` on the signal. Returns the
    failed decision."""
    detail = f"{why}; own bracket withdrawn unsent"
    bracket_withdraw(orders=orders, reason=f"conflict policy: {detail}")
    decision = ConflictDecision(False, Decimal(0), detail)
    with transaction.atomic():
        _signal_check_record(signal, decision.as_check())
    return decision
