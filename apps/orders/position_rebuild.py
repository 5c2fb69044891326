"""Rebuilding strategy positions from the stored fills (``manage.py rebuild_positions``).

The fills are replayed in memory by the rules the live fill service applies them
(``apps.positions.replay``), in execution order (time, then id, as they were recorded). The
result is compared with what is stored — the strategy positions of the accounts concerned,
each fill's realized P&L and unattributed quantity, each order's strategy position and
realized P&L — and only what differs is written, in one transaction: running the rebuild twice
changes nothing the second time (the same position ids stay). When the positions differ, the
accounts' strategy positions are replaced (new ids); fills and orders are updated in place.

It reads ``Fill`` rows, so it lives in ``apps.orders`` (``apps.positions`` must not import
``apps.orders``). Deterministic: the same fills give the same rows.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.orders.models import (
    TERMINAL_ORDER_STATUSES,
    Fill,
    Order,
    OrderReason,
    OrderRole,
    PositionAction,
)
from apps.positions.accounting import entry_side, opposite_side
from apps.positions.models import PositionStatus, StrategyPosition
from apps.positions.replay import ZERO, FillFact, ReplayedPosition, ReplayResult, replay
from apps.trading.locks import account_symbols_lock

POSITION_FIELDS = (
    "account_id",
    "strategy_id",
    "symbol_id",
    "side",
    "status",
    "quantity",
    "average_cost",
    "realized_pnl",
    "commission",
    "entry_quantity",
    "entry_price",
    "exit_quantity",
    "exit_price",
    "initial_risk",
    "r_multiple",
    "outcome",
    "opened_at",
    "closed_at",
    "opening_run_id",
    "prompt_template_id",
    "llm_model",
)


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild changed: strategy positions deleted and created (both 0 when the stored
    ones already matched), fills and orders updated, and how many fills were replayed."""

    fills_replayed: int
    positions_deleted: int
    positions_created: int
    fills_updated: int
    orders_updated: int

    @property
    def changed(self) -> bool:
        """Whether anything was written."""
        return bool(
            self.positions_deleted
            or self.positions_created
            or self.fills_updated
            or self.orders_updated
        )


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A stored position is read as (id, POSITION_FIELDS…) with its times as integer microseconds.
STORED_COLUMNS = tuple(
    {"opened_at": "opened_us", "closed_at": "closed_us"}.get(f, f) for f in POSITION_FIELDS
)
OPENED, CLOSED = (1 + POSITION_FIELDS.index(f) for f in ("opened_at", "closed_at"))


def _microseconds(model: type[Model], column: str) -> RawSQL:
    """``column`` of ``model``'s table as integer microseconds since the Unix epoch: read far
    faster than a timestamp, which Django parses in Python for every row."""
    table = model._meta.db_table
    return RawSQL(f'(EXTRACT(EPOCH FROM "{table}"."{column}") * 1000000)::bigint', [])


def _at(microseconds: int | None) -> datetime | None:
    """The UTC time ``microseconds`` after the Unix epoch (None stays None)."""
    return None if microseconds is None else EPOCH + timedelta(microseconds=microseconds)


def _stored_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A stored position read as (id, STORED_COLUMNS…) as (id, POSITION_FIELDS…)."""
    values = list(row)
    values[OPENED], values[CLOSED] = _at(row[OPENED]), _at(row[CLOSED])
    return tuple(values)


def _fill_facts(account_ids: Sequence[int] | None) -> tuple[list[FillFact], dict[int, tuple]]:
    """The fills of the accounts (all when None) as replay input, in execution order, and per
    fill id its stored (order id, realized P&L, unattributed quantity)."""
    fills = Fill.objects.all()
    if account_ids is not None:
        fills = fills.filter(order__account_id__in=account_ids)
    return fill_facts(fills)


def fill_facts(fills: QuerySet[Fill]) -> tuple[list[FillFact], dict[int, tuple]]:
    """``fills`` as replay input (``FillFact``), in execution order (time, then id), and per
    fill id its stored (order id, realized P&L, unattributed quantity). Times are read to the
    microsecond as stored: on PostgreSQL as integers (far faster for the rebuild's 100k fills),
    elsewhere (the demo's SQLite) as datetimes."""
    as_integers = connection.vendor == "postgresql"
    ordered = fills.order_by("executed_at", "id")
    if as_integers:
        ordered = ordered.annotate(executed_us=_microseconds(Fill, "executed_at"))
    rows = ordered.values_list(
        "id",
        "order_id",
        "order__parent_id",
        "order__role",
        "order__side",
        "order__account_id",
        "order__strategy_id",
        "order__symbol_id",
        "quantity",
        "price",
        "commission",
        "executed_us" if as_integers else "executed_at",
        "order__signal__stop_loss",
        "order__run_id",
        "order__signal__prompt_template_id",
        "order__strategy__llm_model",
        "order__strategy__analyst",
        "realized_pnl",
        "unattributed_quantity",
    )
    facts: list[FillFact] = []
    stored: dict[int, tuple] = {}
    append = facts.append
    entry = OrderRole.ENTRY
    for chunk in _chunks(rows, raw=as_integers):
        for row in chunk:
            (fill_id, order_id, parent_id, role, side, account_id, strategy_id) = row[:7]
            symbol_id, quantity, price, commission, executed, stop, run_id = row[7:14]
            template_id, llm_model, analyst, realized, unattributed = row[14:]
            append(
                FillFact(
                    fill_id,
                    order_id,
                    parent_id,
                    role == entry,
                    side,
                    account_id,
                    strategy_id,
                    symbol_id,
                    quantity,
                    price,
                    commission,
                    EPOCH + timedelta(microseconds=executed) if as_integers else executed,
                    stop,
                    run_id,
                    template_id,
                    llm_model or analyst,
                )
            )
            stored[fill_id] = (order_id, realized, unattributed)
    return facts, stored


def _chunks(rows: QuerySet[Any, tuple[Any, ...]], *, raw: bool) -> Iterator[list[tuple]]:
    """The rows of ``rows`` (a ``values_list`` queryset) in lists: on PostgreSQL read straight
    from the database cursor, 10,000 at a time (Django's row iterator costs more than the
    reading itself, and no column needs its converters there), elsewhere through Django, in
    one list."""
    if not raw:
        yield list(rows)
        return
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(10_000):
            yield chunk


def _position_values(position: ReplayedPosition) -> tuple[Any, ...]:
    """A replayed position as the stored row's ``POSITION_FIELDS`` values."""
    book = position.book
    return (
        position.account_id,
        position.strategy_id,
        position.symbol_id,
        book.side,
        PositionStatus.OPEN if position.is_open else PositionStatus.CLOSED,
        book.quantity,
        book.average_cost,
        book.realized,
        book.commission,
        book.entry_quantity,
        book.entry_price,
        book.exit_quantity,
        book.exit_price,
        book.initial_risk,
        None if position.is_open else book.r_multiple,
        position.outcome,
        position.opened_at,
        position.closed_at,
        position.run_id,
        position.prompt_template_id,
        position.llm_model,
    )


def _scoped(queryset: Any, account_ids: Sequence[int] | None) -> Any:
    return queryset if account_ids is None else queryset.filter(account_id__in=account_ids)


def _update_from_rows(table: str, columns: Sequence[str], types: Sequence[str], rows: Any) -> None:
    """``UPDATE table SET columns… FROM`` a temporary table COPY-filled with ``rows`` (id
    first): one statement whatever the number of rows."""
    if not rows:
        return
    temp = f"rebuild_{table}"
    definitions = ", ".join(
        f"{c} {t}" for c, t in zip(("id", *columns), ("bigint", *types), strict=True)
    )
    assignments = ", ".join(f"{c} = {temp}.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ({definitions}) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {temp} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"ANALYZE {temp}")
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {temp} WHERE {table}.id = {temp}.id")
        cursor.execute(f"DROP TABLE {temp}")


# A position's canonical order: opened at, account, strategy, symbol, side, then creation
# (stored id, or replay number: both follow the fills within one strategy).
CANONICAL = ("opened_at", "account_id", "strategy_id", "symbol_id", "side")
CANONICAL_FIELDS = itemgetter(*(POSITION_FIELDS.index(f) for f in CANONICAL))
STORED_CANONICAL = itemgetter(*(1 + POSITION_FIELDS.index(f) for f in CANONICAL), 0)


def _write_positions(
    result: ReplayResult, stored: list[tuple[Any, ...]]
) -> tuple[dict[int, int], list[int], int]:
    """Position number → stored id: the stored rows when they equal the replayed ones (paired
    in canonical order), else new rows, inserted after the stale ones were set aside
    (closed, so the one-open-per-side rule holds); the caller repoints the orders, then drops
    the stale rows (``_drop_positions``). Returns (ids, stale ids, created)."""
    values = [_position_values(p) for p in result.positions]  # in creation order: number
    if len(stored) == len(values):
        wanted = sorted(range(len(values)), key=lambda n: (*CANONICAL_FIELDS(values[n]), n))
        have = sorted(stored, key=STORED_CANONICAL)
        if all(row[1:] == values[number] for row, number in zip(have, wanted, strict=True)):
            return {number: row[0] for row, number in zip(have, wanted, strict=True)}, [], 0
    stale = [row[0] for row in stored]
    if stale:  # the ids as one array parameter: as many parameters they cost seconds
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {StrategyPosition._meta.db_table} SET status = %s, quantity = 0, "
                "closed_at = %s WHERE id = ANY(%s) AND status = %s",
                [PositionStatus.CLOSED, timezone.now(), stale, PositionStatus.OPEN],
            )
    ids = _insert_positions(result, values)
    return ids, stale, len(ids)


def _drop_positions(stale: list[int]) -> None:
    """Delete the replaced positions; an order still pointing at one (outside the rebuilt
    accounts) lets go of it first."""
    if not stale:
        return
    with connection.cursor() as cursor:  # the ids as one array parameter, as in the delete
        cursor.execute(
            f"UPDATE {Order._meta.db_table} SET strategy_position_id = NULL "
            "WHERE strategy_position_id = ANY(%s)",
            [stale],
        )
        # no cascade to collect: no order holds them now
        cursor.execute(f"DELETE FROM {StrategyPosition._meta.db_table} WHERE id = ANY(%s)", [stale])


def _insert_positions(result: ReplayResult, values: list[tuple[Any, ...]]) -> dict[int, int]:
    """COPY the replayed positions (``values``: each one's ``_position_values``, in creation
    order) with ids drawn from the table's sequence in that order; returns position number →
    id."""
    table = StrategyPosition._meta.db_table
    count = len(result.positions)
    if not count:
        return {}
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
            "FROM generate_series(1, %s) ORDER BY 1",
            [count],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(("id", "updated_at", *POSITION_FIELDS))
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk, row in zip(ids, values, strict=True):
                copy.write_row((pk, now, *row))
    return {position.number: pk for pk, position in zip(ids, result.positions, strict=True)}


def _lone_unfilled(
    result: ReplayResult, ids: dict[int, int], scope: Sequence[int] | None, known: set[int]
) -> dict[int, tuple[int | None, Decimal]]:
    """Lone orders with no fill that name a position from the start — a close (exit) or a
    scale-in entry —: they keep the position they name while it is one the rebuild kept;
    otherwise an unfinished one names the strategy's open position on its side as replayed
    (a close: the side it reduces; a scale-in: the side it adds to), a finished one none."""
    kept = set(ids.values())
    open_ids = {
        (p.strategy_id, p.symbol_id, p.book.side): ids[p.number]
        for p in result.positions
        if p.is_open
    }
    lone = _scoped(Order.objects, scope).filter(
        Q(role=OrderRole.EXIT) | Q(reason=OrderReason.SCALE_IN, role=OrderRole.ENTRY),
        parent__isnull=True,
    )
    wanted: dict[int, tuple[int | None, Decimal]] = {}
    rows = lone.values_list(  # ``known`` left out here: as a query parameter it costs seconds
        "id", "role", "side", "strategy_id", "symbol_id", "strategy_position_id", "status"
    )
    for order_id, role, side, strategy_id, symbol_id, position_id, status in rows:
        if order_id in known:
            continue
        if position_id in kept:
            wanted[order_id] = (position_id, Decimal(0))
            continue
        opened = entry_side(side)
        held = opened if role == OrderRole.ENTRY else opposite_side(opened)
        unfinished = status not in TERMINAL_ORDER_STATUSES
        wanted[order_id] = (
            open_ids.get((strategy_id, symbol_id, held)) if unfinished else None,
            Decimal(0),
        )
    return wanted


def _actions_repoint(scope: Sequence[int] | None) -> None:
    """Point position actions whose position a rebuild replaced (set null) at the position
    their exit order names now."""
    exits = Order.objects.filter(
        action_id=OuterRef("pk"), role=OrderRole.EXIT, strategy_position__isnull=False
    ).order_by("pk")
    _scoped(PositionAction.objects, scope).filter(
        strategy_position__isnull=True, orders__role=OrderRole.EXIT
    ).update(strategy_position=Subquery(exits.values("strategy_position_id")[:1]))


def _update_orders(
    result: ReplayResult,
    ids: dict[int, int],
    order_realized: dict[int, Decimal],
    scope: Sequence[int] | None,
) -> int:
    """Point every order of the scope at its strategy position (an entry's own, else its
    parent's for an exit; none when its bracket never filled) with its realized P&L (the sum of
    its fills'; 0 without fills), writing only the orders whose stored values differ; returns
    how many were written.

    Only the orders with a fill or a position travel (COPY into a temporary table); the others'
    wanted values follow from them in the one UPDATE, so the scope's orders are never read into
    Python."""
    wanted: dict[int, tuple[int | None, Decimal]] = {
        order_id: (ids[number], Decimal(0)) for order_id, number in result.order_position.items()
    }
    for order_id, realized in order_realized.items():
        wanted[order_id] = (wanted.get(order_id, (None, Decimal(0)))[0], realized)
    wanted.update(_lone_unfilled(result, ids, scope, set(wanted)))
    table = Order._meta.db_table
    temp = "rebuild_orders_order"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temp} (id bigint PRIMARY KEY, position_id bigint, "
            "realized_pnl numeric) ON COMMIT DROP"
        )
        with cursor.cursor.copy(f"COPY {temp} FROM STDIN") as copy:
            for order_id in sorted(wanted):
                copy.write_row((order_id, *wanted[order_id]))
        cursor.execute(f"ANALYZE {temp}")
        scoped = "" if scope is None else "WHERE o.account_id = ANY(%s)"
        cursor.execute(
            f"UPDATE {table} SET strategy_position_id = w.position_id, realized_pnl = w.realized "
            "FROM (SELECT o.id, COALESCE(own.position_id, parent.position_id) AS position_id, "
            "COALESCE(own.realized_pnl, 0) AS realized "
            f"FROM {table} o LEFT JOIN {temp} own ON own.id = o.id "
            f"LEFT JOIN {temp} parent ON parent.id = o.parent_id {scoped}) w "
            f"WHERE {table}.id = w.id AND ({table}.strategy_position_id IS DISTINCT FROM "
            f"w.position_id OR {table}.realized_pnl <> w.realized)",
            [] if scope is None else [list(scope)],
        )
        updated = cursor.rowcount
        cursor.execute(f"DROP TABLE {temp}")
    return updated


def positions_rebuild(account_ids: Iterable[int] | None = None) -> RebuildReport:
    """Rebuild the strategy positions of the accounts ``account_ids`` (None: every account)
    from their fills, writing only what differs from the stored state, in one transaction.

    Input: account ids, or None. Output: a ``RebuildReport`` of what changed (nothing the
    second time). Orders are matched to positions as live (an entry's own position, else its
    parent's for an exit, a close's the one it reduced); an order with no fill anywhere in its
    bracket gets none and realized P&L 0 — except a close or scale-in not yet filled, which
    keeps naming its position (``_lone_unfilled``). Position actions follow their exit's
    position.

    Locks: the (account, symbol) rows of every pair with orders (``account_symbols_lock``), then
    the stored positions, so order decisions and fills of those symbols wait for the rebuild.
    A fill already holding its order's lock when the rebuild updates that order can make
    PostgreSQL abort one of the two as a deadlock (nothing half-written): run it while the
    order monitor is quiet. Raises nothing of its own.
    """
    scope = None if account_ids is None else sorted(set(account_ids))
    with transaction.atomic():
        with connection.cursor() as cursor:
            # JIT compiling these one-pass scans and joins costs more than it saves (about a
            # quarter second per statement on 100k fills).
            cursor.execute("SET LOCAL jit = off")
            # The fills' sort (100k rows) fits in memory instead of spilling to disk.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        pairs = _scoped(Order.objects, scope).values_list("account_id", "symbol_id").distinct()
        account_symbols_lock(pairs.order_by())
        stored_positions = [
            _stored_row(row)
            for row in _scoped(StrategyPosition.objects, scope)
            .select_for_update()
            .order_by("id")
            .annotate(
                opened_us=_microseconds(StrategyPosition, "opened_at"),
                closed_us=_microseconds(StrategyPosition, "closed_at"),
            )
            .values_list("id", *STORED_COLUMNS)
        ]
        facts, stored_fills = _fill_facts(scope)
        result = replay(facts)
        ids, stale, created = _write_positions(result, stored_positions)

        changed_fills = []
        order_realized: dict[int, Decimal] = {}
        fill_realized, fill_excess = result.fill_realized, result.fill_excess
        for fill_id, (order_id, realized, unattributed) in stored_fills.items():
            wanted_realized, wanted_excess = fill_realized[fill_id], fill_excess[fill_id]
            if realized != wanted_realized or unattributed != wanted_excess:
                changed_fills.append((fill_id, wanted_realized, wanted_excess))
            # an order's realized P&L: the sum of its fills'
            order_realized[order_id] = order_realized.get(order_id, ZERO) + wanted_realized
        _update_from_rows(
            Fill._meta.db_table,
            ("realized_pnl", "unattributed_quantity"),
            ("numeric", "numeric"),
            changed_fills,
        )
        orders_updated = _update_orders(result, ids, order_realized, scope)
        _drop_positions(stale)
        _actions_repoint(scope)
    return RebuildReport(
        fills_replayed=len(facts),
        positions_deleted=len(stale),
        positions_created=created,
        fills_updated=len(changed_fills),
        orders_updated=orders_updated,
    )
