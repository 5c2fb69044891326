"""The per-(account, symbol) lock: every decision and every position change of one symbol on
one account happens under it, one after the other.

Lock order across Sibyl: orders (ascending id) → account symbols (ascending id) → strategy
positions. Must be called inside a transaction; the locks are held until it ends.
"""

from collections.abc import Iterable

from apps.trading.models import AccountSymbol


def account_symbols_lock(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], AccountSymbol]:
    """Lock the (account id, symbol id) rows in ``pairs`` (created when missing) in ascending
    row id order, waiting for other holders; returns (account id, symbol id) -> fresh row."""
    wanted = sorted(set(pairs))
    for account_id, symbol_id in wanted:
        AccountSymbol.objects.get_or_create(account_id=account_id, symbol_id=symbol_id)
    if not wanted:
        return {}
    query = AccountSymbol.objects.none()
    for account_id, symbol_id in wanted:
        query |= AccountSymbol.objects.filter(account_id=account_id, symbol_id=symbol_id)
    locked = AccountSymbol.objects.select_for_update().filter(
        pk__in=list(query.values_list("pk", flat=True))
    )
    return {(row.account_id, row.symbol_id): row for row in locked.order_by("pk")}
