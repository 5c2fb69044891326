"""What a position action does after its first orders: a reverse's new bracket once its close
filled, and a scale-in's resized stop and target once its entry filled.

A reverse closes the strategy's position and only then opens the opposite bracket, so the two
are never at the broker together (a netting account would otherwise see the new entry net
against the old position while the old stop still works). The run's order step tries right
after sending the close; every monitor pass tries again for reverses still waiting
(``reverses_continue``). Placing is idempotent per run (``entry_place``) and sending is
submit-once (``bracket_submit``): two callers racing send nothing twice.

Prices in the symbol's currency, quantities in units, times tz-aware UTC.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from apps.orders.broker_selection import broker_named
from apps.orders.conflicts import entry_place
from apps.orders.models import (
    Order,
    OrderReason,
    OrderRole,
    OrderStatus,
    PositionAction,
)
from apps.orders.modification import position_exits_modify
from apps.orders.run_notes import run_note
from apps.orders.selectors import position_protection
from apps.orders.services import bracket_submit, orders_sync
from apps.positions.models import PositionStatus
from apps.strategies.models import ScaleInExits

logger = logging.getLogger(__name__)

WAITING, SENT, REFUSED, ABANDONED = "waiting", "sent", "refused", "abandoned"
# A close that ended without filling all: the reverse does not go on.
UNFILLED_ENDS = (OrderStatus.CANCELLED, OrderStatus.REJECTED)


def reverse_plan(*, action: PositionAction, quantity: Decimal) -> None:
    """Record on a reverse's action that its new bracket of ``quantity`` (units, sized by the
    run's signal) waits for the close to fill."""
    with transaction.atomic():
        locked = PositionAction.objects.select_for_update().get(pk=action.pk)
        if "then" not in locked.detail:
            locked.detail = {
                **locked.detail,
                "then": {"state": WAITING, "quantity": str(quantity)},
            }
            locked.save(update_fields=["detail"])
    action.refresh_from_db()


def _set_then(action: PositionAction, **then: object) -> None:
    with transaction.atomic():
        locked = PositionAction.objects.select_for_update().get(pk=action.pk)
        locked.detail = {**locked.detail, "then": {**locked.detail.get("then", {}), **then}}
        locked.save(update_fields=["detail"])
    action.refresh_from_db()


def reverse_continue(*, action: PositionAction, note: bool = True) -> str:
    """Go on with a reverse whose new bracket waits (``reverse_plan``): once the close's exit
    order filled, decide the account's conflict policy and create the run's bracket
    (``entry_place``, reason ``reverse``), then send it once, at the later of the run's as-of
    and the close's fill time. A close that ended unfilled (cancelled, rejected) abandons
    the reverse; a close still working waits.

    Returns the state afterwards: ``waiting``, ``sent``, ``refused`` (the conflict policy
    said no; the reason is on the signal) or ``abandoned``. A note goes on the run when the
    state changed (``note`` False: the run's own order step is calling and reports it). Raises
    what sending raised (BrokerRejectedError, BrokerUnavailableError:
    the bracket keeps its status for the retry pass; the state is ``sent`` — it is the
    bracket's to finish).
    """
    then = action.detail.get("then")
    if not then or then.get("state") != WAITING:
        return str(then.get("state")) if then else ""
    exit_order = Order.objects.filter(action=action, role=OrderRole.EXIT).order_by("pk").first()
    run, signal = action.run, exit_order.signal if exit_order else None
    if exit_order is None or run is None or signal is None:
        _set_then(action, state=ABANDONED, detail="no close order, run or signal to go on from")
        return ABANDONED
    if exit_order.status in UNFILLED_ENDS or (
        exit_order.status == OrderStatus.FAILED and exit_order.attempts == 0
    ):
        detail = f"the close ended {exit_order.status} unfilled: not reversed"
        _set_then(action, state=ABANDONED, detail=detail)
        if note:
            run_note(run=run, name="reverse", output={"state": ABANDONED, "detail": detail})
        return ABANDONED
    if exit_order.status != OrderStatus.FILLED:
        return WAITING
    strategy = exit_order.strategy
    placement = entry_place(
        run=run,
        signal=signal,
        strategy=strategy,
        quantity=Decimal(then["quantity"]),
        broker_name=exit_order.broker,
        reason=OrderReason.REVERSE,
        action=action,
    )
    if not placement.decision.allowed:
        _set_then(action, state=REFUSED, detail=placement.decision.detail)
        if note:
            output = {"state": REFUSED, "detail": placement.decision.detail}
            run_note(run=run, name="reverse", output=output)
        return REFUSED
    _set_then(action, state=SENT, orders=[o.pk for o in placement.orders])
    market_time = max(run.as_of, exit_order.filled_at or run.as_of)
    broker = broker_named(exit_order.broker)
    bracket_submit(orders=placement.orders, broker=broker, market_time=market_time)
    orders_sync(orders=placement.orders, broker=broker)
    if note:
        bracket = [o.client_order_ref for o in placement.orders]
        run_note(run=run, name="reverse", output={"state": SENT, "bracket": bracket})
    return SENT


def _in_scope(actions: QuerySet[PositionAction], account_id: int | None) -> QuerySet:
    """The actions of ``account_id``; None: of every account on the wall clock (a backtest's
    account, with a paper clock, is driven by its backtest runner in simulated time)."""
    if account_id is None:
        return actions.filter(account__paper_clock__isnull=True)
    return actions.filter(account_id=account_id)


def reverses_continue(*, account_id: int | None = None) -> list[str]:
    """``reverse_continue`` for every reverse still waiting for its close: of the accounts on
    the wall clock (monitor pass), or of ``account_id`` only (a backtest's account, after its
    paper clock moved). Returns one error line per reverse that could not go on (the others
    are not stopped)."""
    errors = []
    waiting = _in_scope(
        PositionAction.objects.filter(kind=OrderReason.REVERSE, detail__then__state=WAITING),
        account_id,
    ).select_related("run")
    for action in waiting.order_by("pk"):
        try:
            reverse_continue(action=action)
        except Exception as error:  # one broker failure must not stop the other reverses
            logger.warning("reverse %s could not go on: %s", action.pk, error)
            errors.append(f"reverse {action.pk}: {type(error).__name__}: {error}")
    return errors


def scale_in_plan(*, action: PositionAction) -> None:
    """Record on a scale-in's action that the position's stop and target wait for its entry
    to fill before they are resized."""
    _set_exits(action, state=WAITING)


def _set_exits(action: PositionAction, **exits: object) -> None:
    with transaction.atomic():
        locked = PositionAction.objects.select_for_update().get(pk=action.pk)
        locked.detail = {**locked.detail, "exits": {**locked.detail.get("exits", {}), **exits}}
        locked.save(update_fields=["detail"])
    action.refresh_from_db()


def scale_in_continue(*, action: PositionAction, note: bool = True) -> str:
    """Resize the position's stop and target once a scale-in's entry has filled
    (``position_exits_modify``): to the position's whole quantity, and — with the strategy's
    ``scale_in_exits`` ``newest`` — to the scale-in signal's stop and target (``keep``: their
    prices stay). The entry still working with nothing filled waits; one that ended with
    nothing filled (cancelled, rejected) leaves the exits as they are (``abandoned``); one that
    ended part-filled resizes to what the position holds.

    Returns the state afterwards: ``waiting``, ``done`` or ``abandoned``; a failed
    modification keeps ``waiting`` with the error (the next monitor pass tries again) — the
    stop is modified in place, so the position stays protected at its old quantity meanwhile.
    """
    exits = action.detail.get("exits")
    if not exits or exits.get("state") != WAITING:
        return str(exits.get("state")) if exits else ""
    entry = Order.objects.filter(action=action, role=OrderRole.ENTRY).order_by("pk").first()
    position = action.strategy_position
    run = action.run
    if entry is None or position is None or run is None:
        _set_exits(action, state=ABANDONED, detail="no entry, position or run to go on from")
        return ABANDONED
    ended = entry.status in (*UNFILLED_ENDS, OrderStatus.FAILED, OrderStatus.FILLED)
    if not ended:
        return WAITING
    if entry.filled_quantity == 0:
        _set_exits(action, state=ABANDONED, detail=f"the scale-in ended {entry.status} unfilled")
        return ABANDONED
    position.refresh_from_db()
    if position.status != PositionStatus.OPEN:
        _set_exits(action, state=ABANDONED, detail="the position closed before the resize")
        return ABANDONED
    protection = position_protection(position_id=position.pk)
    if protection.stop is None and protection.target is None:
        _set_exits(action, state="done", detail="the position has no working stop or target")
        return "done"
    signal = entry.signal
    newest = entry.strategy.scale_in_exits == ScaleInExits.NEWEST and signal is not None
    market_time = max(run.as_of, entry.filled_at or run.as_of)
    try:
        made = position_exits_modify(
            position=position,
            quantity=position.quantity,
            stop_price=signal.stop_loss if newest and signal else None,
            target_price=signal.take_profit if newest and signal else None,
            action=action,
            market_time=market_time,
        )
    except Exception as error:  # the next pass tries again; the stop stays working meanwhile
        _set_exits(action, error=f"{type(error).__name__}: {error}")
        return WAITING
    versions = [{"order": m.order_id, "version": m.version, "status": m.status} for m in made]
    _set_exits(action, state="done", quantity=str(position.quantity), modifications=versions)
    if note:
        run_note(run=run, name="scale_in", output={"exits": action.detail["exits"]})
    return "done"


def scale_ins_continue(*, account_id: int | None = None) -> list[str]:
    """``scale_in_continue`` for every scale-in whose exits still wait, in the same scope as
    ``reverses_continue`` (wall-clock accounts, or ``account_id`` only). Returns one error line
    per scale-in that could not go on."""
    errors = []
    waiting = _in_scope(
        PositionAction.objects.filter(kind=OrderReason.SCALE_IN, detail__exits__state=WAITING),
        account_id,
    ).select_related("run", "strategy_position")
    for action in waiting.order_by("pk"):
        try:
            scale_in_continue(action=action)
        except Exception as error:  # one broker failure must not stop the others
            errors.append(f"scale-in {action.pk}: {type(error).__name__}: {error}")
        action.refresh_from_db()
        if action.detail.get("exits", {}).get("error"):
            errors.append(f"scale-in {action.pk}: {action.detail['exits']['error']}")
    return errors
