"""The Broker interface and the value types that cross it.

A broker knows orders by Sibyl's client order reference (IBKR: ``orderRef``); Sibyl asks it by
reference before every submission, so no order is ever sent twice.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from apps.common.errors import SibylError


class BrokerRejectedError(SibylError):
    """The broker refused the order (final: never retried)."""


class BrokerUnavailableError(SibylError):
    """The broker could not be reached or did not answer (transient: may be retried); the API
    answers 503."""

    http_status = 503


@dataclass(frozen=True)
class OrderSpec:
    """One order as sent to a broker; prices in the instrument's currency, quantity in units."""

    client_order_ref: str
    role: str
    side: str
    order_type: str
    quantity: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    parent_ref: str = ""
    oca_group: str = ""


@dataclass(frozen=True)
class BracketSpec:
    """A parent entry with its take-profit and stop-loss children, sent as one unit.

    ``market_time`` is when the order reaches the market (the run's as-of time, tz-aware UTC).
    ``account_key`` is the account the orders are placed for (``Account.broker_key``: the IBKR
    account id, or ``paper-<id>`` for the paper book). ``position_side`` is the side the
    bracket's entry opens, ``LONG`` for a BUY entry and ``SHORT`` for a SELL entry; ``hedge``
    says whether the account holds LONG and SHORT apart (hedge mode) or nets them.
    """

    symbol_id: int
    bar_size: str
    market_time: datetime
    orders: tuple[OrderSpec, ...]
    account_key: str = ""
    position_side: str = ""
    hedge: bool = False


@dataclass(frozen=True)
class BrokerOrderState:
    """What the broker says about one order: its id, status and why it ended if it did.

    ``quantity`` (units), ``limit_price`` and ``stop_price`` (the symbol's currency) are the
    values the broker holds for the order now, so a lookup tells which version of a modified
    order it has; None when the broker did not say (an order known only by its executions) or
    the order has no such price.
    """

    client_order_ref: str
    broker_order_id: str
    status: str
    reason: str = ""
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None

    def holds(
        self, quantity: Decimal, limit_price: Decimal | None, stop_price: Decimal | None
    ) -> bool:
        """Whether the broker reported exactly these values (False when it reported none)."""
        if self.quantity is None:
            return False
        return (self.quantity, self.limit_price, self.stop_price) == (
            quantity,
            limit_price,
            stop_price,
        )


@dataclass(frozen=True)
class Execution:
    """One fill reported by the broker; ``execution_id`` is unique (IBKR ``execId``)."""

    execution_id: str
    client_order_ref: str
    executed_at: datetime
    quantity: Decimal
    price: Decimal
    commission: Decimal


@dataclass(frozen=True)
class BrokerPosition:
    """The broker's position in one symbol of one account.

    ``side`` is ``NET`` for a netting book (IBKR, the paper book in netting mode) or ``LONG`` /
    ``SHORT`` for a book that holds the sides apart (the paper book in hedge mode).
    ``quantity`` is signed in shares/contracts/units (negative is short, so a ``SHORT`` side's
    is negative or zero); ``average_cost`` is per unit in the symbol's currency (IBKR
    ``avgCost``; the paper book: fill prices, commissions excluded), None when unknown.
    """

    symbol_id: int
    side: str
    quantity: Decimal
    average_cost: Decimal | None = None


class Broker(Protocol):
    """Submit, look up, poll and cancel orders by client order reference."""

    name: str

    def lookup(self, refs: list[str]) -> dict[str, BrokerOrderState]:
        """The broker's state of each known reference (unknown references are absent)."""
        ...

    def submit_bracket(self, bracket: BracketSpec) -> list[BrokerOrderState]:
        """Place all orders of a bracket or none; raises BrokerRejectedError or
        BrokerUnavailableError."""
        ...

    def poll(self, refs: list[str]) -> tuple[list[BrokerOrderState], list[Execution]]:
        """Current states and every execution so far of the referenced orders."""
        ...

    def cancel(self, ref: str) -> BrokerOrderState:
        """Cancel a working order; returns its new state."""
        ...

    def modify(
        self, spec: OrderSpec, *, version: int, market_time: datetime, account_key: str
    ) -> BrokerOrderState:
        """Change the quantity, limit and/or stop of the working order ``spec.client_order_ref``
        in place to ``spec``'s (IBKR: placeOrder again with the same orderId; the order keeps
        its id, its place in its bracket and OCA group). ``spec``'s side, order type and
        reference must be the order's own. ``version`` is the order's version this change makes
        (1 for the first), ``market_time`` when it reaches the market (tz-aware UTC; the paper
        book applies it to bars from then on), ``account_key`` the order's account
        (``Account.broker_key``).

        Returns the state once the broker acknowledged the new values (``quantity``,
        ``limit_price``, ``stop_price`` set). Raises BrokerRejectedError when the broker refused
        (the order is filled or cancelled, a value it does not accept; the order keeps its
        values) or BrokerUnavailableError when the outcome is unknown (ask with ``lookup``).
        """
        ...

    def describe(self) -> dict[str, str]:
        """Where orders go, for lineage: ``account`` and ``account_kind`` (paper or live)."""
        ...

    def positions(self, account_key: str) -> list[BrokerPosition]:
        """The broker's non-zero positions of the account ``account_key``
        (``Account.broker_key``); raises BrokerUnavailableError when it cannot be reached."""
        ...
