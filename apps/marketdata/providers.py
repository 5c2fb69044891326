"""Market-data providers: where a run's bars come from."""

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from django.conf import settings

from apps.common.errors import SibylError
from apps.marketdata.bar_checks import OhlcvRow, validate_bars, validate_one_bar_per_session
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

        Raises NotEnoughBarsError when fewer than ``min_count`` exist (naming the symbol with
        its security type and currency, and the bar size), and BarValidationError when a
        stored bar is unsound (NaN, high < low, unsorted, …) or two daily (weekly, monthly)
        bars fall in one session (week, month) of the symbol's calendar.
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
                f"{len(rows)} {bar_size} bar(s) of {symbol} closed by {as_of.isoformat()};"
                f" at least {max(min_count, 1)} needed"
            )
        validate_bars(rows)
        validate_one_bar_per_session(
            [row.ts for row in rows],
            bar_size=bar_size,
            trading_calendar=symbol.trading_calendar,
            timezone=symbol.timezone,
        )
        return BarSeries.from_rows(rows)


# Providers by name; the IBKR adapter (apps.ibkr) registers "ibkr" here.
PROVIDERS: dict[str, Callable[[], MarketDataProvider]] = {EmbeddedProvider.name: EmbeddedProvider}


class ProviderUnavailableError(SibylError):
    """The configured market-data provider is not registered in this process."""


def provider_for() -> MarketDataProvider:
    """A new provider for one run: the embedded store unless ``settings.BROKER == "ibkr"``,
    then the provider registered as "ibkr" (IBKR historical data cached in the store).

    Raises ProviderUnavailableError when ``BROKER=ibkr`` but no "ibkr" provider is registered.
    """
    name = "ibkr" if settings.BROKER == "ibkr" else EmbeddedProvider.name
    factory = PROVIDERS.get(name)
    if factory is None:
        raise ProviderUnavailableError(f"market-data provider {name!r} is not available")
    return factory()
