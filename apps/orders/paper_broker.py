"""The embedded paper broker: its own order book, filled by replaying stored bars.

Default broker. Orders are accepted into ``PaperOrder`` rows (unique by client order reference:
the book itself refuses a second copy), and each poll replays the bars after the order's market
time with ``paper_fills.simulate_bracket``, recording executions once each.

The book keeps one set of positions and cash per account (``PaperOrder.account_key``, the
account's ``broker_key``, e.g. ``paper-7``); one account never sees another's. Positions come
from the account's executions: in netting mode one ``NET`` position per symbol; in hedge mode
(orders stored with a ``position_side``) ``LONG`` and ``SHORT`` apart, as a futures exchange's
hedge mode keeps them.

Cash and buying power per currency (a cash account, IBKR-like; see ``account_cash``):
- cash = the account's starting cash in the currency (``AccountCash``) + the realized P&L of
  its executions in symbols quoted in that currency − their commissions;
- buying power = cash − the cost of its open positions in that currency (long and short alike:
  a cash account cannot borrow, so a short is fully collateralized) − the notional of its
  working (unfilled) entry orders in that currency.
An entry whose notional exceeds the buying power in the symbol's currency is rejected, and so
is one in a currency the account holds no cash in.

The paper clock: an account with ``Account.paper_clock`` set (a backtest's account) is filled
only on bars that had closed by that time — a bar opened at ``ts`` has closed by ``t`` when
``ts`` is at or before ``latest_closed_open(t, …)``, the rule a run's data step uses — whoever
polls (the order step right after submit, the monitor, a modification). ``poll(…, until=t)``
and ``paper_advance(account_key, t)`` bound a replay the same way (the earlier bound wins).
Without a clock and without ``until`` every stored bar after the order's market time counts.
"""

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from apps.marketdata.bar_checks import OhlcvRow
from apps.marketdata.bar_sizes import latest_closed_open
from apps.marketdata.models import Bar
from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerPosition,
    BrokerRejectedError,
    Execution,
    OrderSpec,
)
from apps.orders.models import OrderRole, PaperExecution, PaperOrder
from apps.orders.paper_fills import FillConfig, SimOrder, SimResult, SimVersion, simulate_bracket
from apps.symbols.models import Symbol
from apps.trading.models import Account, AccountCash

NET = "NET"
PAPER_KEY_PREFIX = "paper-"


def _state(order: PaperOrder) -> BrokerOrderState:
    return BrokerOrderState(
        order.client_order_ref,
        f"paper-{order.pk}",
        order.status,
        order.cancel_reason,
        quantity=order.quantity,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
    )


def _decimal_or_none(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _sim_versions(order: PaperOrder) -> tuple[SimVersion, ...]:
    return tuple(
        SimVersion(
            effective_at=datetime.fromisoformat(v["effective_at"]),
            quantity=Decimal(v["quantity"]),
            limit_price=_decimal_or_none(v["limit_price"]),
            stop_price=_decimal_or_none(v["stop_price"]),
        )
        for v in order.versions
    )


def _version_entry(
    version: int,
    effective_at: datetime,
    quantity: Decimal,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
) -> dict[str, object]:
    return {
        "version": version,
        "effective_at": effective_at.isoformat(),
        "quantity": str(quantity),
        "limit_price": _text_or_none(limit_price),
        "stop_price": _text_or_none(stop_price),
    }


def _sim_order(order: PaperOrder) -> SimOrder:
    # Every poll replays from the start, so fills are re-derived; a cancellation made outside
    # the replay (``cancel``) must be carried in, or the replay would fill the cancelled order.
    return SimOrder(
        ref=order.client_order_ref,
        role=order.role,
        side=order.side,
        order_type=order.order_type,
        quantity=order.quantity,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        time_in_force=order.time_in_force,
        status="cancelled" if order.status == "cancelled" else "submitted",
        versions=_sim_versions(order),
    )


def fill_config(symbol: Symbol) -> FillConfig:
    """Slippage and the commission schedule for the symbol's security type (settings)."""
    if symbol.sec_type == "CASH":
        rates = {
            "commission_per_unit": Decimal(0),
            "commission_bps": settings.PAPER_FX_COMMISSION_BPS,
            "commission_min": settings.PAPER_FX_COMMISSION_MIN,
            "commission_max_pct": Decimal(100),
        }
    else:
        rates = {
            "commission_per_unit": settings.PAPER_COMMISSION_PER_SHARE,
            "commission_min": settings.PAPER_COMMISSION_MIN,
            "commission_max_pct": settings.PAPER_COMMISSION_MAX_PCT,
        }
    return FillConfig(
        tick=symbol.min_tick,
        slippage_ticks=settings.PAPER_SLIPPAGE_TICKS,
        timezone=symbol.timezone,
        **rates,
    )


class PaperBroker:
    """Paper trading against the Bar store, with slippage and IBKR-style commissions.

    Rejects a bracket whose entry notional exceeds the account's buying power in the symbol's
    currency (module docstring), for an account that is not a paper account, or whose quantity
    is not positive, as a real broker's pre-trade checks would.
    """

    name = "paper"

    def lookup(self, refs: list[str]) -> dict[str, BrokerOrderState]:
        """States of the references this book holds."""
        return {
            o.client_order_ref: _state(o)
            for o in PaperOrder.objects.filter(client_order_ref__in=refs)
        }

    def submit_bracket(self, bracket: BracketSpec) -> list[BrokerOrderState]:
        """Accept every order of the bracket into the book, or none (raises
        BrokerRejectedError with the reason)."""
        self._pre_trade_checks(bracket)
        try:
            with transaction.atomic():
                rows = [self._accept(bracket, spec) for spec in bracket.orders]
        except IntegrityError as error:
            raise BrokerRejectedError(f"duplicate client order reference: {error}") from error
        return [_state(row) for row in rows]

    def _pre_trade_checks(self, bracket: BracketSpec) -> None:
        entry = next((spec for spec in bracket.orders if spec.role == OrderRole.ENTRY), None)
        if any(spec.quantity <= 0 for spec in bracket.orders):
            raise BrokerRejectedError("order quantity must be positive")
        account_id = paper_account_id(bracket.account_key)
        if account_id is None:
            raise BrokerRejectedError(
                f"the paper book places orders for a paper account, not {bracket.account_key!r}"
            )
        if entry is None:  # a lone exit reduces a position: it needs no buying power
            return
        currency = Symbol.objects.values_list("currency", flat=True).get(pk=bracket.symbol_id)
        cash = account_cash(bracket.account_key).get(currency)
        if cash is None:
            raise BrokerRejectedError(
                f"insufficient buying power: the account holds no {currency} cash "
                f"(the symbol trades in {currency})"
            )
        notional = entry.quantity * self._reference_price(bracket, entry)
        if notional > cash.buying_power:
            raise BrokerRejectedError(
                f"insufficient buying power in {currency}: order value {notional:.2f} exceeds "
                f"{cash.buying_power:.2f} {currency} (cash {cash.cash:.2f}, open positions "
                f"{cash.open_positions_cost:.2f}, working entries {cash.working_entries:.2f})"
            )

    @staticmethod
    def _reference_price(bracket: BracketSpec, entry: OrderSpec) -> Decimal:
        if entry.limit_price is not None:
            return entry.limit_price
        last = (
            Bar.objects.filter(
                symbol_id=bracket.symbol_id, bar_size=bracket.bar_size, ts__lt=bracket.market_time
            )
            .order_by("-ts")
            .first()
        )
        return last.close if last else Decimal(0)

    @staticmethod
    def _accept(bracket: BracketSpec, spec: OrderSpec) -> PaperOrder:
        return PaperOrder.objects.create(
            client_order_ref=spec.client_order_ref,
            account_key=bracket.account_key,
            position_side=bracket.position_side if bracket.hedge else "",
            symbol_id=bracket.symbol_id,
            bar_size=bracket.bar_size,
            role=spec.role,
            parent_ref=spec.parent_ref,
            oca_group=spec.oca_group,
            side=spec.side,
            order_type=spec.order_type,
            quantity=spec.quantity,
            limit_price=spec.limit_price,
            stop_price=spec.stop_price,
            time_in_force=spec.time_in_force,
            accepted_at=bracket.market_time,
        )

    def poll(
        self, refs: list[str], until: datetime | None = None
    ) -> tuple[list[BrokerOrderState], list[Execution]]:
        """Replay bars over the brackets of ``refs`` and return states and all executions.

        ``until`` (tz-aware UTC; None: no bound) replays only bars closed by then, and an
        account's ``paper_clock`` bounds its orders likewise (module docstring)."""
        orders = list(PaperOrder.objects.filter(client_order_ref__in=refs))
        self._advance_all([o for o in orders if not o.parent_ref], until)  # brackets, lone orders
        return self._report(PaperOrder.objects.filter(client_order_ref__in=refs))

    def poll_brackets(
        self, roots: list[str], until: datetime | None = None
    ) -> tuple[list[BrokerOrderState], list[Execution]]:
        """``poll`` of the whole brackets whose parents (or lone orders) are ``roots``: their
        children are read with them, in one query, rather than listed by the caller."""
        bracket = Q(client_order_ref__in=roots) | Q(parent_ref__in=roots)
        orders = list(PaperOrder.objects.filter(bracket))
        parents = [o for o in orders if not o.parent_ref]
        self._advance_all(parents, until, children=[o for o in orders if o.parent_ref])
        return self._report(PaperOrder.objects.filter(bracket))

    @staticmethod
    def _report(
        rows: QuerySet[PaperOrder],
    ) -> tuple[list[BrokerOrderState], list[Execution]]:
        """The states of ``rows`` (read now) and all their executions."""
        fresh = list(rows)
        executions = [
            Execution(
                e.execution_id,
                e.paper_order.client_order_ref,
                e.executed_at,
                e.quantity,
                e.price,
                e.commission,
            )
            for e in PaperExecution.objects.filter(paper_order__in=fresh).select_related(
                "paper_order"
            )
        ]
        return [_state(o) for o in fresh], executions

    def describe(self) -> dict[str, str]:
        """The embedded book: always a paper account."""
        return {"account": "embedded", "account_kind": "paper"}

    def positions(self, account_key: str) -> list[BrokerPosition]:
        """The account's non-zero positions from its executions (no bars are replayed: poll
        first for fresh fills): ``NET`` per symbol, or ``LONG``/``SHORT`` apart for orders
        placed in hedge mode. Another account's executions never count."""
        return [
            BrokerPosition(symbol_id, side, holding.quantity, holding.average_cost)
            for (symbol_id, side), holding in sorted(_holdings(account_key).items())
            if holding.quantity
        ]

    def cancel(self, ref: str) -> BrokerOrderState:
        """Cancel a working order (and, for a parent, its children)."""
        with transaction.atomic():
            order = PaperOrder.objects.select_for_update().get(client_order_ref=ref)
            if order.status == "submitted":
                affected = PaperOrder.objects.filter(parent_ref=ref) | PaperOrder.objects.filter(
                    pk=order.pk
                )
                affected.filter(status="submitted").update(
                    status="cancelled", cancel_reason="cancelled by Sibyl"
                )
            order.refresh_from_db()
        return _state(order)

    def modify(
        self, spec: OrderSpec, *, version: int, market_time: datetime, account_key: str
    ) -> BrokerOrderState:
        """Change a working order's quantity, limit and/or stop in the book from
        ``market_time`` on (bars opening before it keep the old values; see ``paper_fills``).

        The order's bracket is replayed first, so an order the stored bars have filled (or a
        DAY order they expired) is refused as TWS refuses it ("Can't modify a filled order").
        Idempotent by ``version``: the same version again with the same values returns the
        state without a change. Raises BrokerRejectedError for an unknown reference, another
        account's order, an order not working, a side or order type that differs from the
        order's, a quantity that is not positive, a price the order type needs but lacks, or
        a version that is not the next one.
        """
        ref = spec.client_order_ref
        row = PaperOrder.objects.filter(client_order_ref=ref).first()
        if row is None:
            raise BrokerRejectedError(f"the paper book holds no order {ref}")
        root = (
            row if not row.parent_ref else PaperOrder.objects.get(client_order_ref=row.parent_ref)
        )
        self._advance(root)
        with transaction.atomic():
            order = PaperOrder.objects.select_for_update().get(pk=row.pk)
            done = [v for v in order.versions if v["version"] == version]
            if done:
                if _state(order).holds(spec.quantity, spec.limit_price, spec.stop_price):
                    return _state(order)
                raise BrokerRejectedError(
                    f"version {version} of {ref} was already applied with other values"
                )
            self._modify_checks(order, spec, version=version, account_key=account_key)
            effective_at = max(market_time, order.accepted_at)
            history = list(order.versions) or [
                _version_entry(
                    0, order.accepted_at, order.quantity, order.limit_price, order.stop_price
                )
            ]
            effective_at = max(effective_at, datetime.fromisoformat(history[-1]["effective_at"]))
            history.append(
                _version_entry(
                    version, effective_at, spec.quantity, spec.limit_price, spec.stop_price
                )
            )
            order.versions = history
            order.quantity = spec.quantity
            order.limit_price = spec.limit_price
            order.stop_price = spec.stop_price
            order.save(update_fields=["versions", "quantity", "limit_price", "stop_price"])
        return _state(order)

    @staticmethod
    def _modify_checks(
        order: PaperOrder, spec: OrderSpec, *, version: int, account_key: str
    ) -> None:
        ref = order.client_order_ref
        if order.status == "filled":
            raise BrokerRejectedError(f"Can't modify a filled order ({ref})")
        if order.status != "submitted":
            raise BrokerRejectedError(f"Can't modify a {order.status} order ({ref})")
        if account_key and order.account_key != account_key:
            raise BrokerRejectedError(f"order {ref} is not an order of account {account_key}")
        if (spec.side, spec.order_type) != (order.side, order.order_type):
            raise BrokerRejectedError(
                f"Order being modified does not match original order: {ref} is "
                f"{order.side} {order.order_type}"
            )
        last = order.versions[-1]["version"] if order.versions else 0
        if version <= last:
            raise BrokerRejectedError(
                f"version {version} of {ref} is not above the book's version {last}"
            )
        if spec.quantity <= 0:
            raise BrokerRejectedError("order quantity must be positive")
        if order.order_type in ("LMT", "STPLMT") and spec.limit_price is None:
            raise BrokerRejectedError("a limit order needs a limit price")
        if order.order_type in ("STP", "STPLMT") and spec.stop_price is None:
            raise BrokerRejectedError("a stop order needs a stop price")

    def _advance(self, parent: PaperOrder, until: datetime | None = None) -> None:
        self._advance_all([parent], until)

    def _advance_all(
        self,
        parents: list[PaperOrder],
        until: datetime | None = None,
        *,
        children: list[PaperOrder] | None = None,
    ) -> None:
        """Replay the bars of each parent's bracket (``children``: all the parents' children,
        in id order; None: read in one query). Symbols and clock bounds are read once per
        poll: a backtest polls on every slot."""
        if not parents:
            return
        children_of: dict[str, list[PaperOrder]] = {p.client_order_ref: [] for p in parents}
        if children is None:
            children = list(PaperOrder.objects.filter(parent_ref__in=list(children_of)))
        for child in children:
            if child.parent_ref in children_of:
                children_of[child.parent_ref].append(child)
        books = [
            (parent, children_of[parent.client_order_ref])
            for parent in parents
            if any(o.status == "submitted" for o in (parent, *children_of[parent.client_order_ref]))
        ]
        if not books:
            return
        symbols = Symbol.objects.in_bulk({parent.symbol_id for parent, _ in books})
        bounds: dict[str, datetime | None] = {}
        for parent, _ in books:
            if parent.account_key not in bounds:
                bounds[parent.account_key] = paper_bound(parent.account_key, until)
        # one read of bars per (symbol, bar size, bound), from the earliest acceptance among
        # its brackets; each bracket replays its own tail of it
        earliest: dict[tuple[int, str, datetime | None], datetime] = {}
        for parent, _ in books:
            key = _series_key(parent, bounds)
            earliest[key] = min(earliest.get(key, parent.accepted_at), parent.accepted_at)
        series: dict[tuple[int, str, datetime | None], list[OhlcvRow]] = {}
        for (symbol_id, bar_size, bound), since in earliest.items():
            bars_after = Bar.objects.filter(symbol_id=symbol_id, bar_size=bar_size, ts__gte=since)
            if bound is not None:
                calendar = symbols[symbol_id].trading_calendar
                bars_after = bars_after.filter(
                    ts__lte=latest_closed_open(bound, bar_size, calendar)
                )
            series[(symbol_id, bar_size, bound)] = [
                OhlcvRow(*v)
                for v in bars_after.order_by("ts").values_list(
                    "ts", "open", "high", "low", "close", "volume"
                )
            ]
        for parent, children in books:
            symbol = symbols[parent.symbol_id]
            rows = series[_series_key(parent, bounds)]
            bars = rows[bisect_left(rows, parent.accepted_at, key=lambda row: row.ts) :]
            result = simulate_bracket(
                _sim_order(parent), [_sim_order(c) for c in children], bars, fill_config(symbol)
            )
            self._store([parent, *children], result)

    @staticmethod
    def _store(book: list[PaperOrder], result: SimResult) -> None:
        by_ref = {o.client_order_ref: o for o in book}
        with transaction.atomic():
            for ref, sim in result.orders.items():
                row = by_ref[ref]
                if row.status == "submitted" and sim.status != "submitted":
                    row.status, row.cancel_reason = sim.status, sim.reason
                    row.save(update_fields=["status", "cancel_reason"])
            # every replay re-derives the book's fills: only the new ones need a write (the
            # unique execution id and get_or_create still settle a concurrent poll's race)
            stored = (
                set(
                    PaperExecution.objects.filter(paper_order__in=book).values_list(
                        "execution_id", flat=True
                    )
                )
                if result.fills
                else set()
            )
            for ref, executed_at, quantity, price, commission in result.fills:
                if f"paper-{by_ref[ref].pk}-1" in stored:
                    continue
                PaperExecution.objects.get_or_create(
                    execution_id=f"paper-{by_ref[ref].pk}-1",
                    defaults={
                        "paper_order": by_ref[ref],
                        "executed_at": executed_at,
                        "quantity": quantity,
                        "price": price,
                        "commission": commission,
                    },
                )


def _series_key(
    parent: PaperOrder, bounds: dict[str, datetime | None]
) -> tuple[int, str, datetime | None]:
    """The bars a bracket replays: its symbol, bar size and its account's clock bound."""
    return (parent.symbol_id, parent.bar_size, bounds[parent.account_key])


def paper_bound(account_key: str, until: datetime | None) -> datetime | None:
    """The latest time whose closed bars may fill the orders of ``account_key``: the earlier
    of ``until`` and the account's ``paper_clock`` (None: no bound, every stored bar)."""
    account_id = paper_account_id(account_key)
    clock = (
        Account.objects.filter(pk=account_id).values_list("paper_clock", flat=True).first()
        if account_id is not None
        else None
    )
    bounds = [t for t in (until, clock) if t is not None]
    return min(bounds) if bounds else None


def paper_advance(
    account_key: str, until: datetime
) -> tuple[list[BrokerOrderState], list[Execution]]:
    """Replay, for every working order of the paper account ``account_key`` (with its
    bracket), the bars closed by ``until`` (tz-aware UTC; the account's ``paper_clock`` bounds
    it too), recording the book's executions and statuses. Returns the states and executions
    of those brackets, for the caller to record in Sibyl (``apps.orders.services.orders_apply``:
    fills once each by execution id)."""
    working = PaperOrder.objects.filter(account_key=account_key, status="submitted")
    roots = {parent or ref for ref, parent in working.values_list("client_order_ref", "parent_ref")}
    if not roots:  # nothing working: nothing to replay (saves the poll's queries per slot)
        return [], []
    return PaperBroker().poll_brackets(sorted(roots), until=until)


def paper_account_id(account_key: str) -> int | None:
    """The account id in a paper book key (``paper-7`` -> 7), or None for any other key."""
    number = account_key.removeprefix(PAPER_KEY_PREFIX)
    if number == account_key or not number.isdigit():
        return None
    return int(number)


@dataclass
class Holding:
    """One position of the paper book: signed quantity (units), average cost per unit (fill
    prices, commissions excluded) and what it has realized (fill prices, before commissions),
    in the symbol's currency."""

    quantity: Decimal = Decimal(0)
    average_cost: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)

    def apply(self, signed: Decimal, price: Decimal) -> None:
        """Add a fill of ``signed`` units (negative sells) at ``price``: an opening fill moves
        the average cost, a reducing one realizes (price − average cost) per unit closed, and
        one that crosses zero opens the rest at ``price``."""
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            total = self.quantity + signed
            self.average_cost = (self.quantity * self.average_cost + signed * price) / total
            self.quantity = total
            return
        closed = min(abs(self.quantity), abs(signed))
        direction = 1 if self.quantity > 0 else -1
        self.realized += closed * (price - self.average_cost) * direction
        self.quantity += signed
        if self.quantity == 0:
            self.average_cost = Decimal(0)
        elif (self.quantity > 0) != (direction > 0):
            self.average_cost = price


def _executions(account_key: str) -> list[PaperExecution]:
    """The account's executions, oldest first, with their paper orders."""
    return list(
        PaperExecution.objects.filter(paper_order__account_key=account_key)
        .select_related("paper_order")
        .order_by("executed_at", "id")
    )


def _holdings(
    account_key: str, executions: list[PaperExecution] | None = None
) -> dict[tuple[int, str], Holding]:
    """(symbol id, NET|LONG|SHORT) -> holding, replaying the account's executions oldest
    first (``executions``: those already read by ``_executions``)."""
    holdings: dict[tuple[int, str], Holding] = {}
    if executions is None:
        executions = _executions(account_key)
    for execution in executions:
        order = execution.paper_order
        key = (order.symbol_id, order.position_side or NET)
        signed = execution.quantity if order.side == "BUY" else -execution.quantity
        holdings.setdefault(key, Holding()).apply(signed, execution.price)
    return holdings


@dataclass
class CurrencyCash:
    """An account's cash and buying power in one currency (module docstring), in that
    currency: ``cash`` = starting cash + realized P&L − commissions; ``buying_power`` = cash −
    ``open_positions_cost`` − ``working_entries``."""

    starting_cash: Decimal
    realized: Decimal = Decimal(0)
    commissions: Decimal = Decimal(0)
    open_positions_cost: Decimal = Decimal(0)
    working_entries: Decimal = Decimal(0)

    @property
    def cash(self) -> Decimal:
        """Starting cash + realized P&L − commissions."""
        return self.starting_cash + self.realized - self.commissions

    @property
    def buying_power(self) -> Decimal:
        """Cash − cost of open positions − notional of working entries."""
        return self.cash - self.open_positions_cost - self.working_entries


def account_cash(account_key: str) -> dict[str, CurrencyCash]:
    """Cash and buying power per currency of the paper account ``account_key`` (currencies
    it has starting cash in; the others hold nothing). Working entries count at their limit
    price, or the last close before their market time for a market order."""
    account_id = paper_account_id(account_key)
    if account_id is None:
        return {}
    books = {
        cash.currency: CurrencyCash(starting_cash=cash.starting_cash)
        for cash in AccountCash.objects.filter(account_id=account_id)
    }
    executions = _executions(account_key)
    working = list(_working_entries(account_key))
    traded = {e.paper_order.symbol_id for e in executions} | {o.symbol_id for o in working}
    currencies = (
        dict(Symbol.objects.filter(pk__in=traded).values_list("pk", "currency")) if traded else {}
    )
    for (symbol_id, _), holding in _holdings(account_key, executions).items():
        book = books.get(currencies[symbol_id])
        if book is not None:
            book.realized += holding.realized
            book.open_positions_cost += abs(holding.quantity) * holding.average_cost
    for execution in executions:
        book = books.get(currencies[execution.paper_order.symbol_id])
        if book is not None:
            book.commissions += execution.commission
    for order in working:
        book = books.get(currencies[order.symbol_id])
        if book is not None:
            book.working_entries += order.quantity * _order_reference_price(order)
    return books


def _working_entries(account_key: str) -> Iterable[PaperOrder]:
    return PaperOrder.objects.filter(
        account_key=account_key, role=OrderRole.ENTRY, status="submitted"
    ).exclude(executions__isnull=False)


def _order_reference_price(order: PaperOrder) -> Decimal:
    if order.limit_price is not None:
        return order.limit_price
    if order.stop_price is not None:
        return order.stop_price
    last = (
        Bar.objects.filter(
            symbol_id=order.symbol_id, bar_size=order.bar_size, ts__lt=order.accepted_at
        )
        .order_by("-ts")
        .first()
    )
    return last.close if last else Decimal(0)
