"""Applying fills to strategy positions.

Callers (``apps.orders.services``) hold the row lock of the fill's order and of its
(account, symbol) (``apps.trading.locks.account_symbols_lock``) and run inside a transaction;
so two fills of one account and symbol are applied one after the other.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.common import metrics
from apps.positions.accounting import Book, book_add, book_reduce, entry_side, outcome
from apps.positions.models import PositionStatus, StrategyPosition


@dataclass(frozen=True)
class EntryFill:
    """An entry order's fill for a strategy: which strategy, account and symbol, the order's
    side (BUY/SELL), quantity (units), price and commission (symbol's currency), when (UTC),
    the signal's stop (for the risk in R), and what opened it (run, prompt version, model)."""

    account_id: int
    strategy_id: int
    symbol_id: int
    order_side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    executed_at: datetime
    stop: Decimal | None
    run_id: int | None = None
    prompt_template_id: int | None = None
    llm_model: str = ""


@dataclass(frozen=True)
class FillEffect:
    """What a fill did: the position it belongs to (None: no position to reduce), the realized
    P&L and the quantity beyond the position (not any strategy's: unattributed)."""

    position: StrategyPosition | None
    realized: Decimal
    excess: Decimal = Decimal(0)


def _book(position: StrategyPosition) -> Book:
    return Book(
        side=position.side,
        quantity=position.quantity,
        average_cost=position.average_cost,
        realized=position.realized_pnl,
        commission=position.commission,
        entry_quantity=position.entry_quantity,
        entry_price=position.entry_price,
        exit_quantity=position.exit_quantity,
        exit_price=position.exit_price,
        initial_risk=position.initial_risk,
    )


def _store(position: StrategyPosition, book: Book, *, at: datetime) -> None:
    was_open = position.pk is not None and position.status == PositionStatus.OPEN
    position.quantity = book.quantity
    position.average_cost = book.average_cost
    position.realized_pnl = book.realized
    position.commission = book.commission
    position.entry_quantity = book.entry_quantity
    position.entry_price = book.entry_price
    position.exit_quantity = book.exit_quantity
    position.exit_price = book.exit_price
    position.initial_risk = book.initial_risk
    if position.quantity == 0 and position.exit_quantity:
        position.status = PositionStatus.CLOSED
        position.closed_at = at
        position.r_multiple = book.r_multiple
        position.outcome = outcome(book.realized)
    else:
        position.status = PositionStatus.OPEN
        position.closed_at = None
        position.r_multiple = None
        position.outcome = ""
    is_open = position.status == PositionStatus.OPEN
    metrics.position_changed(
        side=position.side,
        opened=position.pk is None,
        closed=(was_open or position.pk is None) and not is_open,
        outcome=position.outcome,
    )
    position.save()


def strategy_position_open_add(*, fill: EntryFill, position_id: int | None) -> FillEffect:
    """Apply an entry fill: to the order's position ``position_id`` when it has one (a later
    partial fill), else to the strategy's open position on that side, opened when there is
    none. Returns the position (with its new numbers) and realized 0."""
    side = entry_side(fill.order_side)
    position = None
    if position_id is not None:
        position = StrategyPosition.objects.select_for_update().get(pk=position_id)
    if position is None or position.status == PositionStatus.CLOSED:
        position = (
            StrategyPosition.objects.select_for_update()
            .filter(strategy_id=fill.strategy_id, symbol_id=fill.symbol_id, side=side)
            .filter(status=PositionStatus.OPEN)
            .first()
        )
    if position is None:
        position = StrategyPosition(
            account_id=fill.account_id,
            strategy_id=fill.strategy_id,
            symbol_id=fill.symbol_id,
            side=side,
            opened_at=fill.executed_at,
            opening_run_id=fill.run_id,
            prompt_template_id=fill.prompt_template_id,
            llm_model=fill.llm_model,
        )
    book = _book(position)
    book_add(
        book, quantity=fill.quantity, price=fill.price, commission=fill.commission, stop=fill.stop
    )
    _store(position, book, at=fill.executed_at)
    return FillEffect(position, Decimal(0))


def strategy_position_reduce(
    *,
    position_id: int | None,
    quantity: Decimal,
    price: Decimal,
    commission: Decimal,
    executed_at: datetime,
) -> FillEffect:
    """Apply an exit fill (take-profit, stop-loss) to the position its bracket opened.

    With no position (its entry never filled) or a closed one, nothing is the strategy's:
    the whole quantity is excess. Otherwise returns the fill's realized P&L and any excess.
    """
    if position_id is None:
        return FillEffect(None, Decimal(0), quantity)
    position = StrategyPosition.objects.select_for_update().get(pk=position_id)
    if position.status == PositionStatus.CLOSED:
        return FillEffect(position, Decimal(0), quantity)
    book = _book(position)
    realized, excess = book_reduce(book, quantity=quantity, price=price, commission=commission)
    _store(position, book, at=executed_at)
    return FillEffect(position, realized, excess)
