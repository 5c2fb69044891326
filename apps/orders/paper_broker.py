"""The embedded paper broker: its own order book, filled by replaying stored bars.

Default broker. Orders are accepted into ``PaperOrder`` rows (unique by client order reference:
the book itself refuses a second copy), and each poll replays the bars after the order's market
time with ``paper_fills.simulate_bracket``, recording executions once each.
"""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.marketdata.bar_checks import OhlcvRow
from apps.marketdata.models import Bar
from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerRejectedError,
    Execution,
    OrderSpec,
)
from apps.orders.models import OrderRole, PaperExecution, PaperOrder
from apps.orders.paper_fills import FillConfig, SimOrder, SimResult, simulate_bracket
from apps.symbols.models import Symbol


def _state(order: PaperOrder) -> BrokerOrderState:
    return BrokerOrderState(
        order.client_order_ref, f"paper-{order.pk}", order.status, order.cancel_reason
    )


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

    Rejects a bracket whose entry notional exceeds ``PAPER_BUYING_POWER`` or whose quantity is
    not positive, as a real broker's pre-trade checks would.
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
        entry = next(spec for spec in bracket.orders if spec.role == OrderRole.ENTRY)
        if any(spec.quantity <= 0 for spec in bracket.orders):
            raise BrokerRejectedError("order quantity must be positive")
        reference = self._reference_price(bracket, entry)
        notional = entry.quantity * reference
        if notional > settings.PAPER_BUYING_POWER:
            raise BrokerRejectedError(
                f"insufficient buying power: order value {notional:.2f} exceeds "
                f"{settings.PAPER_BUYING_POWER:.2f}"
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

    def poll(self, refs: list[str]) -> tuple[list[BrokerOrderState], list[Execution]]:
        """Replay bars over the brackets of ``refs`` and return states and all executions."""
        orders = list(PaperOrder.objects.filter(client_order_ref__in=refs))
        for parent in [o for o in orders if o.role == OrderRole.ENTRY]:
            self._advance(parent)
        fresh = list(PaperOrder.objects.filter(client_order_ref__in=refs))
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

    def _advance(self, parent: PaperOrder) -> None:
        children = list(PaperOrder.objects.filter(parent_ref=parent.client_order_ref))
        book = [parent, *children]
        if all(o.status != "submitted" for o in book):
            return
        symbol = Symbol.objects.get(pk=parent.symbol_id)
        bars = [
            OhlcvRow(*v)
            for v in Bar.objects.filter(
                symbol_id=parent.symbol_id,
                bar_size=parent.bar_size,
                ts__gte=parent.accepted_at,
            )
            .order_by("ts")
            .values_list("ts", "open", "high", "low", "close", "volume")
        ]
        config = fill_config(symbol)
        result = simulate_bracket(
            _sim_order(parent), [_sim_order(c) for c in children], bars, config
        )
        self._store(book, result)

    @staticmethod
    def _store(book: list[PaperOrder], result: SimResult) -> None:
        by_ref = {o.client_order_ref: o for o in book}
        with transaction.atomic():
            for ref, sim in result.orders.items():
                row = by_ref[ref]
                if row.status == "submitted" and sim.status != "submitted":
                    row.status, row.cancel_reason = sim.status, sim.reason
                    row.save(update_fields=["status", "cancel_reason"])
            for ref, executed_at, quantity, price, commission in result.fills:
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
