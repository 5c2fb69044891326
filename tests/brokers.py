"""A scripted test double of the ``apps.orders.brokers.Broker`` protocol, shared by the order
and scheduling tests."""

from dataclasses import dataclass, field, replace
from datetime import datetime

from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerPosition,
    BrokerRejectedError,
    Execution,
    OrderSpec,
)


@dataclass
class ScriptedBroker:
    """A broker double that accepts brackets into its ``book`` and reports the ``executions`` a
    test scripts, or fails as told.

    Submitting counts in ``submits`` and keeps the bracket in ``submissions``, then raises
    ``error`` if given; else, with ``reject``, raises a ``BrokerRejectedError``; else, while
    ``fail_submits`` is positive, raises ``ConnectionError`` (and counts it down); else books
    every order as ``submitted`` with broker ids ``b-1``, ``b-2``, ...
    """

    error: Exception | None = None
    name: str = "scripted"
    fail_submits: int = 0
    reject: bool = False
    book: dict[str, BrokerOrderState] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    submits: int = 0
    submissions: list[BracketSpec] = field(default_factory=list)
    modifies: int = 0
    held: dict[str, list[BrokerPosition]] = field(default_factory=dict)

    def lookup(self, refs: list[str]) -> dict[str, BrokerOrderState]:
        """The booked orders among ``refs`` (client order refs), by ref."""
        return {ref: self.book[ref] for ref in refs if ref in self.book}

    def submit_bracket(self, bracket: BracketSpec) -> list[BrokerOrderState]:
        """Book ``bracket``'s orders, or raise as scripted (see the class docstring)."""
        self.submits += 1
        self.submissions.append(bracket)
        if self.error is not None:
            raise self.error
        if self.reject:
            raise BrokerRejectedError("201: order rejected - no trading permissions")
        if self.fail_submits:
            self.fail_submits -= 1
            raise ConnectionError("connection reset by peer")
        for spec in bracket.orders:
            self.book[spec.client_order_ref] = BrokerOrderState(
                spec.client_order_ref, f"b-{len(self.book) + 1}", "submitted"
            )
        return [self.book[spec.client_order_ref] for spec in bracket.orders]

    def poll(self, refs: list[str]) -> tuple[list[BrokerOrderState], list[Execution]]:
        """The booked states and the scripted executions of ``refs``."""
        mine = [e for e in self.executions if e.client_order_ref in refs]
        return list(self.lookup(refs).values()), mine

    def cancel(self, ref: str) -> BrokerOrderState:
        """Not scripted: raises ``NotImplementedError``."""
        raise NotImplementedError

    def modify(
        self, spec: OrderSpec, *, version: int, market_time: datetime, account_key: str
    ) -> BrokerOrderState:
        """Book ``spec``'s quantity and prices for a booked order (counted in ``modifies``);
        raises ``error`` if given, a ``BrokerRejectedError`` with ``reject`` or for an order
        not booked."""
        self.modifies += 1
        if self.error is not None:
            raise self.error
        held = self.book.get(spec.client_order_ref)
        if self.reject or held is None:
            raise BrokerRejectedError(f"104: can't modify order {spec.client_order_ref}")
        self.book[spec.client_order_ref] = replace(
            held,
            quantity=spec.quantity,
            limit_price=spec.limit_price,
            stop_price=spec.stop_price,
        )
        return self.book[spec.client_order_ref]

    def describe(self) -> dict[str, str]:
        """A paper account named ``scripted``."""
        return {"account": "scripted", "account_kind": "paper"}

    def positions(self, account_key: str) -> list[BrokerPosition]:
        """The positions a test scripted in ``held`` for ``account_key`` (none by default)."""
        return list(self.held.get(account_key, []))
