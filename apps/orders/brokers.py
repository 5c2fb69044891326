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
    """

    symbol_id: int
    bar_size: str
    market_time: datetime
    orders: tuple[OrderSpec, ...]


@dataclass(frozen=True)
class BrokerOrderState:
    """What the broker says about one order: its id, status and why it ended if it did."""

    client_order_ref: str
    broker_order_id: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class Execution:
    """One fill reported by the broker; ``execution_id`` is unique (IBKR ``execId``)."""

    execution_id: str
    client_order_ref: str
    executed_at: datetime
    quantity: Decimal
    price: Decimal
    commission: Decimal


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

    def describe(self) -> dict[str, str]:
        """Where orders go, for lineage: ``account`` and ``account_kind`` (paper or live)."""
        ...
