"""Market-data providers: where a run's bars come from."""

from datetime import datetime
from typing import Protocol

from apps.common.errors import SibylError
from apps.marketdata.bar_checks import OhlcvRow, validate_bars
from apps.marketdata.bar_sizes import latest_closed_open
from apps.marketdata.models import Bar
from apps.marketdata.series import BarSeries
from apps.symbols.models import Symbol


class NotEnoughBarsError(SibylError):
    """The store holds fewer closed bars before the as-of time than the strategy needs."""


class MarketDataProvider(Protocol):
    """Returns the latest ``count`` bars closed at or before ``as_of`` (tz-aware UTC)."""

    name: str

    def get_bars(
        self, *, symbol: Symbol, bar_size: str, as_of: datetime, count: int, min_count: int
    ) -> BarSeries: ...


class EmbeddedProvider:
    """Reads the local Bar store; sees only bars that closed by ``as_of`` (no look-ahead)."""

    name = "embedded"

    def get_bars(
        self, *, symbol: Symbol, bar_size: str, as_of: datetime, count: int, min_count: int
    ) -> BarSeries:
        """Return up to ``count`` bars, oldest first.

        Raises NotEnoughBarsError when fewer than ``min_count`` exist, and BarValidationError
        when a stored bar is unsound (NaN, high < low, unsorted, …).
        """
        cutoff = latest_closed_open(as_of, bar_size, symbol.trading_calendar)
        values = (
            Bar.objects.filter(symbol=symbol, bar_size=bar_size, ts__lte=cutoff)
            .order_by("-ts")
            .values_list("ts", "open", "high", "low", "close", "volume")[:count]
        )
        rows = [OhlcvRow(*value) for value in reversed(values)]
        if len(rows) < max(min_count, 1):
            raise NotEnoughBarsError(
                f"{len(rows)} {bar_size} bar(s) of {symbol.symbol} closed by {as_of.isoformat()};"
                f" at least {max(min_count, 1)} needed"
            )
        validate_bars(rows)
        return BarSeries.from_rows(rows)
