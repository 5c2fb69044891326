"""The per-(account, symbol) lock: every decision and every position change of one symbol on
one account happens under it, one after the other.

Lock order across Sibyl: orders (ascending id) → account symbols (ascending id) → strategy
positions. Must be called inside a transaction; the locks are held until it ends.
"""

from collections.abc import Iterable

from apps.trading.models import AccountSymbol


def _locked(wanted: list[tuple[int, int]]) -> dict[tuple[int, int], AccountSymbol]:
    """SELECT … FOR UPDATE of the existing rows among ``wanted``, in ascending row id order
    (PostgreSQL locks the rows as the sorted result returns them)."""
    query = AccountSymbol.objects.none()
    for account_id, symbol_id in wanted:
        query |= AccountSymbol.objects.filter(account_id=account_id, symbol_id=symbol_id)
    # The account is read with it (not locked): callers decide by its policy.
    locked = query.select_for_update(of=("self",)).select_related("account").order_by("pk")
    return {(row.account_id, row.symbol_id): row for row in locked}


def account_symbols_lock(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], AccountSymbol]:
    """Lock the (account id, symbol id) rows in ``pairs`` (created when missing) in ascending
    row id order, waiting for other holders; returns (account id, symbol id) -> fresh row,
    its ``account`` read with it (not locked).

    One query when every row exists (the usual case); otherwise the missing rows are created
    first and all are locked again, still in ascending row id order."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    locked = _locked(wanted)
    if len(locked) == len(wanted):
        return locked
    for account_id, symbol_id in wanted:
        AccountSymbol.objects.get_or_create(account_id=account_id, symbol_id=symbol_id)
    return _locked(wanted)
