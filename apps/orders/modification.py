"""Modifying a working order at its broker: quantity, limit and stop changed in place.

A modification is sent once (openspec/specs/orders/spec.md, "Modifying a working order"):

1. Under the order's row lock an ``OrderModification`` is created with the next version
   (``requested``) and committed before anything is sent; no lock is held while the broker is
   called.
2. The broker's answer settles it: acknowledged (the order takes the new values and the
   version), rejected (the order keeps its values), or unknown (the connection dropped, no
   answer in time): it stays ``requested`` with the transport error noted.
3. A ``requested`` modification whose outcome is unknown is resolved by asking the broker which
   values it holds (``lookup`` by client order reference) before anything is sent again: a
   broker that holds the new values acknowledged it (a modify lost in transit is never sent
   twice); a broker that still holds the old values never got it, and it is sent again.

Every outcome is noted in lineage: the modification row itself, and a ``modification`` step on
the order's run (``run_notes.run_note``) or, for an order without a run, an event on its
position action (``services.position_action_event``).
"""

import contextlib
import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.common.decimals import round_to_tick
from apps.common.errors import SibylError
from apps.orders.broker_selection import broker_named
from apps.orders.brokers import BrokerOrderState, BrokerRejectedError, BrokerUnavailableError
from apps.orders.cancellation import OrderNotWorkingError
from apps.orders.locks import order_lock
from apps.orders.models import (
    ACTIVE_ORDER_STATUSES,
    ModificationStatus,
    Order,
    OrderModification,
    OrderRole,
    OrderType,
    PositionAction,
)
from apps.orders.run_notes import run_note
from apps.orders.services import order_spec, position_action_event
from apps.positions.models import StrategyPosition
from apps.trading.trading_state import orders_allowed_check

logger = logging.getLogger(__name__)

# A ``requested`` modification younger than this whose sender has not reported trouble is
# taken to be in flight (its sender waits for the broker's answer): another caller waits.
IN_FLIGHT = timedelta(seconds=60)
UNKNOWN_PREFIX = "outcome unknown: "


class ModificationInvalidError(SibylError):
    """The requested values cannot be sent: nothing changes, a quantity not above what is
    filled, or a price the order type needs is missing (or one it does not use is given)."""


class ModificationInFlightError(SibylError):
    """Another modification of the order is being sent and its answer is awaited; try again
    once it is settled. The API answers 409."""

    http_status = 409


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _values(order: Order) -> dict[str, Any]:
    return {
        "version": order.version,
        "quantity": _text(order.quantity),
        "limit_price": _text(order.limit_price),
        "stop_price": _text(order.stop_price),
    }


def _wanted(
    order: Order,
    quantity: Decimal | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    """The order's values after the change: unchanged where None, prices on the symbol's tick.
    Raises ModificationInvalidError (module rules)."""
    tick = order.symbol.min_tick
    new_quantity = order.quantity if quantity is None else Decimal(quantity)
    new_limit = order.limit_price if limit_price is None else round_to_tick(limit_price, tick)
    new_stop = order.stop_price if stop_price is None else round_to_tick(stop_price, tick)
    uses_limit = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    uses_stop = order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    ref = order.client_order_ref
    if limit_price is not None and not uses_limit:
        raise ModificationInvalidError(f"{ref} is a {order.order_type} order: it has no limit")
    if stop_price is not None and not uses_stop:
        raise ModificationInvalidError(f"{ref} is a {order.order_type} order: it has no stop")
    if new_quantity <= order.filled_quantity:
        raise ModificationInvalidError(
            f"the quantity of {ref} must stay above what is filled ({order.filled_quantity}); "
            "cancel the order to stop it"
        )
    if any(price is not None and price <= 0 for price in (new_limit, new_stop)):
        raise ModificationInvalidError("prices must be positive")
    if (new_quantity, new_limit, new_stop) == (
        order.quantity,
        order.limit_price,
        order.stop_price,
    ):
        raise ModificationInvalidError(f"nothing to modify: {ref} already has these values")
    return new_quantity, new_limit, new_stop


def _same(modification: OrderModification, values: tuple[Decimal, Any, Any]) -> bool:
    return (modification.quantity, modification.limit_price, modification.stop_price) == values


def _in_flight(modification: OrderModification) -> bool:
    unknown = modification.error_message.startswith(UNKNOWN_PREFIX)
    return not unknown and timezone.now() - modification.requested_at < IN_FLIGHT


def order_modify(
    *,
    order: Order,
    quantity: Decimal | None = None,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    action: PositionAction | None = None,
    market_time: datetime,
) -> OrderModification:
    """Change a working order's quantity (units), limit and/or stop (the symbol's currency;
    rounded to its tick) at its broker, in place; None keeps a value. ``market_time`` is when
    the change reaches the market (tz-aware UTC: the paper book applies it to bars from then
    on); ``action`` is the position action that asked (scale-in, trail …), if any.

    Returns the acknowledged modification: the order then holds the new values and the
    modification's ``version``. An earlier modification whose outcome was unknown is resolved
    first (module docstring); a request for the values the order's last acknowledged
    modification set (e.g. the one just resolved) returns that modification, sending nothing.

    Raises OrderNotWorkingError (409) unless the order is ``submitted`` or
    ``partially_filled``; ModificationInvalidError (400) for values that cannot be sent;
    ModificationInFlightError (409) while another modification of the order awaits its answer;
    BrokerRejectedError after recording the modification ``rejected`` (the order keeps its
    values); BrokerUnavailableError when the outcome is unknown (the modification stays
    ``requested``; calling again resolves it by asking the broker before any resend).
    Raises TradingStateError (409), before anything is recorded, when the account's trading
    state refuses it (halted: nothing is modified; reducing: an entry is not).
    """
    orders_allowed_check(account_id=order.account_id, roles=[order.role])
    with transaction.atomic():
        locked = order_lock(order.pk)
        _require_working(locked)
        latest = locked.modifications.order_by("-version").first()
        outstanding = latest if latest and latest.status == ModificationStatus.REQUESTED else None
        if outstanding is None:
            repeated = _repeated(locked, latest, quantity, limit_price, stop_price)
            if repeated is not None:
                return repeated
            values = _wanted(locked, quantity, limit_price, stop_price)
            modification = _create(
                locked, values, latest=latest, action=action, market_time=market_time
            )
    if outstanding is not None:
        if _in_flight(outstanding):
            raise ModificationInFlightError(
                f"modification v{outstanding.version} of {order.client_order_ref} awaits the "
                "broker's answer"
            )
        # Settle it first (by asking the broker); a refusal of that older one does not stand
        # in the way of this request, which is then made as usual (or found already made).
        with contextlib.suppress(BrokerRejectedError):
            modification_resolve(modification=outstanding, market_time=market_time)
        return order_modify(
            order=order,
            quantity=quantity,
            limit_price=limit_price,
            stop_price=stop_price,
            action=action,
            market_time=market_time,
        )
    return _send(modification, order=locked, market_time=market_time)


def _repeated(
    order: Order,
    latest: OrderModification | None,
    quantity: Decimal | None,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
) -> OrderModification | None:
    """The order's latest acknowledged modification when the request asks for exactly the
    values it set and the order still holds (a repeated request: nothing is sent again)."""
    acknowledged = latest is not None and latest.status == ModificationStatus.ACKNOWLEDGED
    if not acknowledged or latest is None or latest.version != order.version:
        return None
    modification = latest
    tick = order.symbol.min_tick
    asked = (
        order.quantity if quantity is None else quantity,
        order.limit_price if limit_price is None else round_to_tick(limit_price, tick),
        order.stop_price if stop_price is None else round_to_tick(stop_price, tick),
    )
    held = (order.quantity, order.limit_price, order.stop_price)
    return modification if asked == held and _same(modification, held) else None


def _require_working(order: Order) -> None:
    if order.status not in ACTIVE_ORDER_STATUSES:
        raise OrderNotWorkingError(
            f"order {order.client_order_ref} is {order.status}: only submitted or partially "
            "filled orders can be modified"
        )


def _create(
    order: Order,
    values: tuple[Decimal, Any, Any],
    *,
    latest: OrderModification | None,
    action: PositionAction | None,
    market_time: datetime,
) -> OrderModification:
    """The next version's ``requested`` modification of the row-locked ``order``: above the
    order's version and its ``latest`` modification's (rejected ones keep their number)."""
    highest = latest.version if latest is not None else 0
    quantity, limit_price, stop_price = values
    return OrderModification.objects.create(
        order=order,
        version=max(highest, order.version) + 1,
        quantity=quantity,
        limit_price=limit_price,
        stop_price=stop_price,
        previous=_values(order),
        action=action,
        market_time=market_time,
    )


def _send(
    modification: OrderModification, *, order: Order | None = None, market_time: datetime
) -> OrderModification:
    """Send ``modification`` to its order's broker and record the answer (no lock held while
    the broker is called). ``order`` is the order as read when the modification was made
    (read again when not given)."""
    if order is None:
        order = Order.objects.select_related("account", "parent", "symbol").get(
            pk=modification.order_id
        )
    spec = replace(
        order_spec(order),
        quantity=modification.quantity,
        limit_price=modification.limit_price,
        stop_price=modification.stop_price,
    )
    try:
        state = broker_named(order.broker).modify(
            spec,
            version=modification.version,
            market_time=market_time,
            account_key=order.account.broker_key,
        )
    except BrokerRejectedError as error:
        _settle(modification, ModificationStatus.REJECTED, str(error))
        raise
    except BrokerUnavailableError as error:
        _unknown(modification, f"{type(error).__name__}: {error}")
        raise
    except Exception as error:
        _settle(modification, ModificationStatus.FAILED, f"{type(error).__name__}: {error}")
        raise BrokerUnavailableError(f"modification failed: {error}") from error
    return _acknowledge(modification, state)


def modification_resolve(
    *, modification: OrderModification, market_time: datetime
) -> OrderModification:
    """Settle a ``requested`` modification whose answer never came, by asking the broker which
    values it holds for the order (never by sending first):

    - the broker holds the modification's values: acknowledged (it was sent and applied);
    - the order is still working with other values: the broker never applied it, it is sent
      again (a modification replaces values, so this cannot double anything);
    - the order is no longer working at the broker, or unknown to it: ``failed`` with why.

    Returns the modification as stored afterwards (unchanged if it is no longer
    ``requested``). Raises what ``order_modify`` raises for the resend.
    """
    modification.refresh_from_db()
    if modification.status != ModificationStatus.REQUESTED:
        return modification
    order = Order.objects.get(pk=modification.order_id)
    broker = broker_named(order.broker)
    state = broker.lookup([order.client_order_ref]).get(order.client_order_ref)
    wanted = (modification.quantity, modification.limit_price, modification.stop_price)
    if state is not None and state.holds(*wanted):
        return _acknowledge(modification, state, resolved=True)
    if state is None or state.status != "submitted":
        why = "unknown to the broker" if state is None else f"{state.status} at the broker"
        return _settle(modification, ModificationStatus.FAILED, f"not applied: the order is {why}")
    return _send(modification, market_time=modification.market_time or market_time)


def modifications_read_back(
    *, broker_name: str, states: list[BrokerOrderState]
) -> list[OrderModification]:
    """Acknowledge every ``requested`` modification of an order on ``broker_name`` whose
    broker state in ``states`` (e.g. all open orders read after a reconnect) holds its values:
    the broker applied it though its answer was lost. Others are left for
    ``modification_resolve``. Returns the modifications acknowledged."""
    known = {state.client_order_ref: state for state in states}
    pending = OrderModification.objects.filter(
        status=ModificationStatus.REQUESTED,
        order__broker=broker_name,
        order__client_order_ref__in=list(known),
    ).select_related("order")
    acknowledged = []
    for modification in pending:
        state = known[modification.order.client_order_ref]
        wanted = (modification.quantity, modification.limit_price, modification.stop_price)
        if state.holds(*wanted):
            acknowledged.append(_acknowledge(modification, state, resolved=True))
    return [m for m in acknowledged if m.status == ModificationStatus.ACKNOWLEDGED]


def modifications_resolve(*, now: datetime) -> int:
    """Resolve (``modification_resolve``) every ``requested`` modification whose outcome is
    unknown or that has waited longer than ``IN_FLIGHT`` (its sender died): the monitor's
    safety net. A broker that cannot be reached leaves it for the next pass. Returns how many
    were settled."""
    stale = OrderModification.objects.filter(status=ModificationStatus.REQUESTED).filter(
        Q(error_message__startswith=UNKNOWN_PREFIX) | Q(requested_at__lt=now - IN_FLIGHT)
    )
    settled = 0
    for modification in stale.order_by("pk"):
        try:
            done = modification_resolve(modification=modification, market_time=now)
        except (BrokerRejectedError, BrokerUnavailableError):
            logger.warning("modification %s could not be resolved now", modification.pk)
            continue
        settled += done.status != ModificationStatus.REQUESTED
    return settled


def _acknowledge(
    modification: OrderModification, state: BrokerOrderState, *, resolved: bool = False
) -> OrderModification:
    """Record the broker's acknowledgement, with its lineage note, in one transaction: the
    modification ``acknowledged``, the order takes the values and the version (unless a later
    version is already recorded)."""
    with transaction.atomic():
        order = order_lock(modification.order_id)
        now = timezone.now()
        changed = OrderModification.objects.filter(
            pk=modification.pk, status=ModificationStatus.REQUESTED
        ).update(status=ModificationStatus.ACKNOWLEDGED, acknowledged_at=now, error_message="")
        if not changed:  # another caller settled it meanwhile
            modification.refresh_from_db()
            return modification
        modification.status = ModificationStatus.ACKNOWLEDGED
        modification.acknowledged_at, modification.error_message = now, ""
        if modification.version > order.version:
            order.quantity = modification.quantity
            order.limit_price = modification.limit_price
            order.stop_price = modification.stop_price
            order.version = modification.version
            order.broker_order_id = state.broker_order_id or order.broker_order_id
            order.save(
                update_fields=[
                    "quantity",
                    "limit_price",
                    "stop_price",
                    "version",
                    "broker_order_id",
                    "updated_at",
                ]
            )
        _note(modification, order, "read back from the broker" if resolved else "")
    return modification


def _settle(modification: OrderModification, status: str, message: str) -> OrderModification:
    """Mark a still ``requested`` modification ``rejected`` or ``failed`` with why; the order
    keeps its values."""
    with transaction.atomic():
        locked = OrderModification.objects.select_for_update().get(pk=modification.pk)
        if locked.status == ModificationStatus.REQUESTED:
            locked.status, locked.error_message = status, message
            locked.save(update_fields=["status", "error_message"])
    modification.refresh_from_db()
    _note(modification, Order.objects.get(pk=modification.order_id), "", error=message)
    return modification


def _unknown(modification: OrderModification, message: str) -> None:
    """The broker's answer did not come: the modification stays ``requested``, marked as
    unknown so the next caller resolves it at once (``modification_resolve``); unless a
    read-back settled it meanwhile (``modifications_read_back`` after a reconnect)."""
    marked = OrderModification.objects.filter(
        pk=modification.pk, status=ModificationStatus.REQUESTED
    ).update(error_message=UNKNOWN_PREFIX + message)
    modification.refresh_from_db()
    if not marked:
        return
    order = Order.objects.get(pk=modification.order_id)
    _note(modification, order, "", error=modification.error_message)


def _note(modification: OrderModification, order: Order, how: str, *, error: str = "") -> None:
    """The modification in the lineage of its order: a step on the order's run, or an event on
    its position action (the modification's own, else the order's)."""
    output = {
        "order": order.client_order_ref,
        "modification": modification.pk,
        "version": modification.version,
        "status": modification.status,
        "quantity": _text(modification.quantity),
        "limit_price": _text(modification.limit_price),
        "stop_price": _text(modification.stop_price),
        "previous": modification.previous,
        **({"how": how} if how else {}),
    }
    if order.run is not None:
        run_note(run=order.run, name="modification", output=output, error=error)
    action = modification.action if modification.action_id is not None else None
    if action is None and order.run_id is None and order.action_id is not None:
        action = order.action
    if action is not None:
        position_action_event(action=action, name="modification", output=output, error=error)


def position_exits_modify(
    *,
    position: StrategyPosition,
    quantity: Decimal,
    stop_price: Decimal | None = None,
    target_price: Decimal | None = None,
    action: PositionAction | None = None,
    market_time: datetime,
) -> list[OrderModification]:
    """Modify the working stop-loss and take-profit of a strategy position to ``quantity``
    (units) and, when given, ``stop_price`` / ``target_price`` (the symbol's currency), e.g.
    after a scale-in fills. The stop goes first and the take-profit only once the stop's
    modification is acknowledged: the stop is changed in place, so the position is protected
    throughout, and a stop the broker refused leaves the take-profit untouched.

    A protective order that already has the values is left alone. Returns the modifications
    made (stop first). Raises OrderNotWorkingError (409) when the position has no working
    stop-loss or take-profit, or more than one of either (modify those orders one by one), and
    what ``order_modify`` raises.
    """
    exits = list(
        Order.objects.filter(
            strategy_position=position,
            role__in=(OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT),
            status__in=ACTIVE_ORDER_STATUSES,
        ).order_by("pk")
    )
    stops = [o for o in exits if o.role == OrderRole.STOP_LOSS]
    targets = [o for o in exits if o.role == OrderRole.TAKE_PROFIT]
    if not exits or len(stops) > 1 or len(targets) > 1:
        raise OrderNotWorkingError(
            f"strategy position {position.pk} has {len(stops)} working stop-loss and "
            f"{len(targets)} take-profit orders; exactly one of each (or one alone) is modified"
        )
    made = []
    for order, price in [(o, stop_price) for o in stops] + [(o, target_price) for o in targets]:
        key = "stop_price" if order.role == OrderRole.STOP_LOSS else "limit_price"
        current = order.stop_price if key == "stop_price" else order.limit_price
        rounded = None if price is None else round_to_tick(price, order.symbol.min_tick)
        if order.quantity == quantity and rounded in (None, current):
            continue
        made.append(
            order_modify(
                order=order,
                quantity=quantity,
                action=action,
                market_time=market_time,
                **{key: rounded},
            )
        )
    return made
