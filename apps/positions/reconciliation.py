"""Reconciliation of an account's positions: the broker's beside the strategies' sum.

Per account and symbol, the broker's position (what the broker reports) is stored in an
``AccountPosition`` next to the sum of the account's open strategy positions; the difference is
unattributed quantity — a manual trade at the broker, a fill Sibyl missed. It is flagged
(``flagged_at``: since when it has been non-zero, kept while it stays so, cleared when it is
zero again) and never silently fixed: strategy positions are only ever changed by fills.

Comparison (quantities signed, negative is short):
- sides held apart (the paper book in hedge mode): the broker's ``LONG`` against the sum of the
  open ``LONG`` strategy positions, its ``SHORT`` against minus the sum of the ``SHORT`` ones;
- netting (IBKR, the paper book in netting mode; an IBKR account in hedge mode too — IBKR nets
  and the strategies keep their sides virtually): the broker's ``NET`` against
  Σ LONG − Σ SHORT.

This module takes plain values (anything with ``symbol_id``, ``side``, ``quantity`` and
``average_cost``, e.g. ``apps.orders.brokers.BrokerPosition``): it knows no broker.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.db import transaction

from apps.positions.models import (
    AccountPosition,
    AccountPositionSide,
    PositionSide,
    PositionStatus,
    StrategyPosition,
)
from apps.positions.notices import mismatch_notify
from apps.trading.models import Account, BrokerKind, PositionMode

logger = logging.getLogger(__name__)
ZERO = Decimal(0)


class ReportedPosition(Protocol):
    """A broker's position as reconciliation reads it: symbol, side (``NET``, ``LONG`` or
    ``SHORT``), signed quantity (units) and average cost per unit (symbol's currency, or
    None)."""

    @property
    def symbol_id(self) -> int: ...

    @property
    def side(self) -> str: ...

    @property
    def quantity(self) -> Decimal: ...

    @property
    def average_cost(self) -> Decimal | None: ...


@dataclass(frozen=True)
class Mismatch:
    """One (symbol, side) where the broker and the strategies disagree: signed quantities in
    units; ``since`` is the row's ``flagged_at`` (UTC)."""

    symbol_id: int
    side: str
    broker_quantity: Decimal
    strategy_quantity: Decimal
    unattributed_quantity: Decimal
    since: datetime

    def describe(self) -> str:
        """One line for reports and logs."""
        return (
            f"symbol {self.symbol_id} {self.side}: broker {self.broker_quantity:f}, "
            f"strategies {self.strategy_quantity:f}, unattributed "
            f"{self.unattributed_quantity:f} (since {self.since.isoformat()})"
        )


@dataclass
class PositionReconciliation:
    """What one reconciliation of an account found: rows compared, and the mismatches (all of
    them, old and new), of which ``newly_flagged`` started now."""

    account_id: int
    compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    newly_flagged: int = 0


def sides_held_apart(account: Account) -> bool:
    """Whether the account's broker holds LONG and SHORT apart: only the paper book in hedge
    mode (IBKR nets every account)."""
    return account.position_mode == PositionMode.HEDGE and account.broker == BrokerKind.PAPER


def _strategy_sums(account: Account, apart: bool) -> dict[tuple[int, str], Decimal]:
    sums: dict[tuple[int, str], Decimal] = {}
    open_positions = StrategyPosition.objects.filter(
        account=account, status=PositionStatus.OPEN
    ).values_list("symbol_id", "side", "quantity")
    for symbol_id, side, quantity in open_positions:
        signed = quantity if side == PositionSide.LONG else -quantity
        key = (symbol_id, side if apart else AccountPositionSide.NET)
        sums[key] = sums.get(key, ZERO) + signed
    return sums


def account_positions_reconcile(
    *, account_id: int, positions: Iterable[ReportedPosition], now: datetime
) -> PositionReconciliation:
    """Store the broker's ``positions`` of one account beside the sums of its open strategy
    positions and flag the differences (module docstring); ``now`` (tz-aware UTC) is when the
    broker reported them. Positions the broker no longer reports count as zero. Strategy
    positions are never changed. A mismatch is logged (warning) when it is first flagged.

    Raises ``Account.DoesNotExist`` for an unknown account."""
    account = Account.objects.get(pk=account_id)
    apart = sides_held_apart(account)
    result = PositionReconciliation(account_id=account_id)
    reported: dict[tuple[int, str], tuple[Decimal, Decimal | None]] = {}
    for position in positions:
        key = (position.symbol_id, position.side)
        quantity, _ = reported.get(key, (ZERO, None))
        reported[key] = (quantity + position.quantity, position.average_cost)
    with transaction.atomic():
        rows = {
            (row.symbol_id, row.side): row
            for row in AccountPosition.objects.select_for_update().filter(account=account)
        }
        sums = _strategy_sums(account, apart)
        for key in sorted(set(reported) | set(sums) | set(rows)):
            symbol_id, side = key
            broker_quantity, average_cost = reported.get(key, (ZERO, None))
            strategy_quantity = sums.get(key, ZERO)
            unattributed = broker_quantity - strategy_quantity
            row = rows.get(key) or AccountPosition(account=account, symbol_id=symbol_id, side=side)
            if unattributed and row.flagged_at is None:
                row.flagged_at = now
                result.newly_flagged += 1
                logger.warning(
                    "Account %s (%s) symbol %s %s: broker holds %s, strategies %s; "
                    "%s unattributed (not fixed: a person decides)",
                    account.pk,
                    account.broker_key,
                    symbol_id,
                    side,
                    broker_quantity,
                    strategy_quantity,
                    unattributed,
                )
                mismatch_notify(account, symbol_id, side, broker_quantity, strategy_quantity)
            elif not unattributed:
                row.flagged_at = None
            row.broker_quantity = broker_quantity
            row.broker_average_cost = average_cost if broker_quantity else None
            row.strategy_quantity = strategy_quantity
            row.unattributed_quantity = unattributed
            row.reported_at = now
            row.save()
            result.compared += 1
            if unattributed:
                assert row.flagged_at is not None
                result.mismatches.append(
                    Mismatch(
                        symbol_id,
                        side,
                        broker_quantity,
                        strategy_quantity,
                        unattributed,
                        row.flagged_at,
                    )
                )
    return result
