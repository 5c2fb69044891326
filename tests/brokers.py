"""A scripted test double of the ``apps.orders.brokers.Broker`` protocol, shared by the order
and scheduling tests."""

from dataclasses import dataclass, field

from apps.orders.brokers import (
    BracketSpec,
    BrokerOrderState,
    BrokerPosition,
    BrokerRejectedError,
    Execution,
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

    def describe(self) -> dict[str, str]:
        """A paper account named ``scripted``."""
        return {"account": "scripted", "account_kind": "paper"}

    def positions(self, account_key: str) -> list[BrokerPosition]:
        """The positions a test scripted in ``held`` for ``account_key`` (none by default)."""
        return list(self.held.get(account_key, []))
