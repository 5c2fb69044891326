"""manage.py search_symbols QUERY [--refresh] — search IBKR and cache the matching symbols."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.ibkr.symbol_search import SearchHit, symbols_search_hits

COLUMNS = ("conid", "symbol", "type", "exchange", "currency", "description", "fetched_at", "source")


def _row(hit: SearchHit) -> tuple[str, ...]:
    s = hit.symbol
    fetched = s.fetched_at.strftime("%Y-%m-%d %H:%M UTC") if s.fetched_at else ""
    source = "cache" if hit.from_cache else "IBKR"
    return (
        str(s.conid or ""),
        s.symbol,
        s.sec_type,
        s.exchange,
        s.currency,
        s.description,
        fetched,
        source,
    )


class Command(BaseCommand):
    """Print a table of IBKR's matches for QUERY (conid, symbol, type, exchange, currency,
    description, fetched_at in UTC, and whether the row came from the 7-day cache).
    Raises SymbolSearchError / IbkrConnectionError as ``symbols_search_hits`` does."""

    help = (
        "Search IBKR (reqMatchingSymbols) for QUERY and print the matches; contract details"
        " are cached in the Symbol table for 7 days (--refresh fetches them anyway)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("query", help="ticker or company-name prefix, e.g. GOO")
        parser.add_argument(
            "--refresh", action="store_true", help="fetch contract details even when cached"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Search, store and print (see the class docstring)."""
        hits = symbols_search_hits(query=options["query"], refresh=options["refresh"])
        if not hits:
            self.stdout.write(f"no IBKR symbols match {options['query']!r}")
            return
        rows = [COLUMNS, *(_row(hit) for hit in hits)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        for row in rows:
            self.stdout.write(
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
            )
        cached = sum(hit.from_cache for hit in hits)
        self.stdout.write(
            f"{len(hits)} symbol(s): {cached} from the cache (fetched < 7 days ago),"
            f" {len(hits) - cached} fetched from IBKR"
        )
