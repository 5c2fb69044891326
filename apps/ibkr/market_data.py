"""IbkrProvider: a run's bars from the store, topped up from IBKR's historical data first.

The provider works out which closed bars the store lacks for the window a strategy needs,
asks TWS for them with ``reqHistoricalData`` (after the process's pacing limiter admits the
request), stores them, and then reads the store exactly as the embedded provider does, so
validation and the no-look-ahead cut are the same.

Sources: TWS API ``reqHistoricalData`` (durationStr units S/D/W/M/Y, more than 365 days only
in years; barSizeSetting spellings, which are ``BarSize``'s; whatToShow TRADES / MIDPOINT /
AGGTRADES; useRTH; formatDate 2 = intraday times as epoch seconds, daily and longer bars as
``yyyymmdd``), the TWS API message codes (162, 200, 354, 10089, 10168) and IBKR's historical
data pacing rules (``apps.ibkr.pacing``).

Error 162 reaches us through ``IB.errorEvent``: ib_async's ``Wrapper.error`` logs a request's
error, ends the request (``_endReq``: the awaited ``reqHistoricalDataAsync`` returns an empty
``BarDataList``, since Sibyl leaves ``IB.RaiseRequestErrors`` off on the shared connection) and
then emits ``errorEvent(reqId, code, message, contract)`` synchronously, before the awaiting
coroutine resumes; the provider listens during its own request and keeps the errors whose
reqId is ``BarDataList.reqId``.
"""

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from ib_async import IB, BarData, Contract
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_none

from apps.common.deadlines import time_left
from apps.common.errors import SibylError
from apps.ibkr.gateway import ibkr_connection
from apps.ibkr.mapping import contract_for
from apps.ibkr.pacing import HistoricalRequestKey, PacingLimiter, historical_limiter
from apps.marketdata.bar_sizes import FIXED_DURATIONS, latest_closed_open, validate_bar_size
from apps.marketdata.models import Bar, BarSize
from apps.marketdata.providers import EmbeddedProvider
from apps.marketdata.series import BarSeries
from apps.symbols.models import Symbol

logger = logging.getLogger(__name__)

PACING_ATTEMPTS = 4
NO_DATA = 162
UNKNOWN_CONTRACT = 200
NO_PERMISSION = frozenset({354, 10089, 10168})
# whatToShow per security type (TWS API "Historical Data Types").
WHAT_TO_SHOW = {"STK": "TRADES", "IND": "TRADES", "FUT": "TRADES", "CASH": "MIDPOINT"}
WHAT_TO_SHOW_CRYPTO = "AGGTRADES"
DAILY_OR_LONGER = frozenset({BarSize.DAY_1, BarSize.WEEK_1, BarSize.MONTH_1})
# Hours of bars per trading day: regular US stock hours (useRTH), 24 h otherwise.
RTH_HOURS = 6.5
# Margin for holidays and gaps on top of the weekend factor (7 calendar days per 5 sessions).
HOLIDAY_MARGIN = 1.15
MARGIN_DAYS = 5
MAX_DAYS_IN_D = 365


class IbkrHistoricalDataError(SibylError):
    """TWS refused or could not answer a reqHistoricalData; ``code`` is the TWS error code
    (0 when TWS sent none, e.g. no answer in time)."""

    def __init__(self, message: str, *, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class IbkrPacingViolationError(IbkrHistoricalDataError):
    """TWS error 162 "Historical data request pacing violation" (retried after a back-off)."""


class IbkrUnknownContractError(IbkrHistoricalDataError):
    """TWS error 200: no security definition for the symbol's contract (or it cannot be
    qualified to a conId)."""


class IbkrNoPermissionError(IbkrHistoricalDataError):
    """TWS error 354 / 10089 / 10168: the account lacks the market-data subscription."""


class IbkrNoDataError(IbkrHistoricalDataError):
    """TWS error 162 "HMDS query returned no data" for the whole lookback window."""


@dataclass
class HistoryRequestInfo:
    """What the provider asked IBKR for in its last ``get_bars``, for the data step's lineage.

    ``mode``: ``full`` (the whole lookback window), ``incremental`` (after the latest stored
    bar) or ``none`` (the store already held every closed bar); ``requested_count`` the bars
    the strategy asked for (its lookback). ``after`` is the latest stored
    bar's open time (exclusive start) for ``incremental``; ``end`` the as-of time (UTC) sent as
    endDateTime; ``received`` the bars TWS sent (durations are whole days, so an incremental
    request also returns the latest stored bar), ``kept`` those that had closed by the as-of
    time and opened after ``after``, ``stored`` the rows newly written; ``attempts`` requests
    made (more than one after pacing violations); ``waited_s`` seconds spent waiting for
    pacing; ``errors`` the TWS errors met on the way (e.g. a pacing violation, retried).
    """

    mode: str
    requested_count: int
    bar_size: str
    end: str
    after: str | None = None
    duration: str = ""
    what_to_show: str = ""
    use_rth: bool = False
    received: int = 0
    kept: int = 0
    stored: int = 0
    attempts: int = 0
    waited_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready copy for lineage."""
        return asdict(self)


def what_to_show_for(sec_type: str) -> str:
    """whatToShow for a security type: TRADES for STK/IND/FUT, MIDPOINT for CASH (forex has
    no trades), AGGTRADES for CRYPTO (TWS API historical data types)."""
    if sec_type == "CRYPTO":
        return WHAT_TO_SHOW_CRYPTO
    return WHAT_TO_SHOW.get(sec_type, "TRADES")


def duration_str(span: timedelta) -> str:
    """The smallest IB durationStr covering ``span``: ``"N D"`` up to 365 days, else
    ``"N Y"`` (TWS API: durations over 365 days must be given in years)."""
    days = max(1, math.ceil(span.total_seconds() / 86400))
    if days <= MAX_DAYS_IN_D:
        return f"{days} D"
    return f"{math.ceil(days / 365)} Y"


def lookback_span(*, count: int, bar_size: str, sec_type: str) -> timedelta:
    """Calendar time that holds at least ``count`` bars of ``bar_size``, with margins for
    weekends (5 sessions per 7 days, not for crypto), holidays (15 %) and 5 days more.

    Stocks count 6.5 regular-hours hours per day (useRTH), others 24.
    """
    validate_bar_size(bar_size)
    if bar_size == BarSize.MONTH_1:
        return timedelta(days=31 * count + 31)
    if bar_size == BarSize.WEEK_1:
        return timedelta(weeks=count + 2)
    weekdays_only = sec_type != "CRYPTO"
    if bar_size == BarSize.DAY_1:
        per_day = 1.0
    else:
        hours = RTH_HOURS if sec_type == "STK" else 24.0
        per_day = max(1.0, hours * 3600 / FIXED_DURATIONS[bar_size].total_seconds())
    days = count / per_day * (7 / 5 if weekdays_only else 1.0) * HOLIDAY_MARGIN
    return timedelta(days=math.ceil(days) + MARGIN_DAYS)


def bar_open_utc(value: date | datetime, timezone: str) -> datetime:
    """A BarData.date as Sibyl's bar open time: a ``date`` (daily and longer bars) is 00:00
    UTC of that date (as the CSV import stores daily bars); an aware datetime is converted to
    UTC; a naive one is taken in the symbol's ``timezone``."""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone or "UTC"))
    return value.astimezone(UTC)


def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


def bar_rows(
    bars: list[BarData],
    *,
    symbol: Symbol,
    bar_size: str,
    cutoff: datetime,
    after: datetime | None = None,
) -> list[Bar]:
    """Unsaved Bar rows for IB bars that opened at or before ``cutoff`` (the latest bar open
    that had closed by the as-of time; later bars would be look-ahead) and after ``after``
    (the latest stored bar, if given). Prices in the instrument's currency; a negative
    volume (TWS sends -1 for MIDPOINT bars) is stored as 0."""
    rows = []
    for bar in bars:
        ts = bar_open_utc(bar.date, symbol.timezone)
        if ts > cutoff or (after is not None and ts <= after):
            continue
        rows.append(
            Bar(
                symbol=symbol,
                bar_size=bar_size,
                ts=ts,
                open=_decimal(bar.open),
                high=_decimal(bar.high),
                low=_decimal(bar.low),
                close=_decimal(bar.close),
                volume=max(_decimal(bar.volume), Decimal(0)),
            )
        )
    return rows


def _error_for(code: int, message: str, what: str) -> IbkrHistoricalDataError:
    text = f"IBKR error {code} for {what}: {message}"
    if code == NO_DATA and "pacing violation" in message.lower():
        return IbkrPacingViolationError(text, code=code)
    if code == NO_DATA:
        return IbkrNoDataError(text, code=code)
    if code == UNKNOWN_CONTRACT:
        return IbkrUnknownContractError(f"{text} (unknown contract)", code=code)
    if code in NO_PERMISSION:
        return IbkrNoPermissionError(f"{text} (no market data permission)", code=code)
    return IbkrHistoricalDataError(text, code=code)


@dataclass(frozen=True)
class _Answer:
    bars: list[BarData]
    errors: list[tuple[int, str]]
    elapsed_s: float


class IbkrProvider:
    """Market data from IBKR through the process's connection (``BROKER=ibkr``), cached in the
    Bar store. ``last_request`` describes the request of the latest ``get_bars``.

    ``limiter`` defaults to the process's historical-data limiter; ``retry_s`` (the pause
    after a pacing violation, seconds) to ``settings.IBKR_PACING_RETRY_S``.
    """

    name = "ibkr"

    def __init__(self, *, limiter: PacingLimiter | None = None, retry_s: float | None = None):
        self.limiter = limiter or historical_limiter()
        self.retry_s = retry_s
        self.last_request: HistoryRequestInfo | None = None

    def get_bars(
        self, *, symbol: Symbol, bar_size: str, as_of: datetime, count: int, min_count: int
    ) -> BarSeries:
        """Return up to ``count`` bars closed by ``as_of`` (tz-aware UTC), oldest first, after
        fetching the missing ones from IBKR. Prices in the instrument's currency.

        Raises IbkrUnknownContractError (200 or no conId), IbkrNoPermissionError (354, 10089,
        10168), IbkrNoDataError (162 for the whole window), IbkrPacingViolationError (162
        pacing, still after PACING_ATTEMPTS tries), IbkrHistoricalDataError (other codes, no
        answer in time), IbkrConnectionError (TWS unreachable); then, as the embedded
        provider, NotEnoughBarsError and BarValidationError.
        """
        validate_bar_size(bar_size)
        cutoff = latest_closed_open(as_of, bar_size, symbol.trading_calendar)
        info = HistoryRequestInfo(
            mode="none", requested_count=count, bar_size=bar_size, end=as_of.isoformat()
        )
        self.last_request = info
        span = self._missing_span(symbol, bar_size, cutoff, as_of, count, info)
        if span is not None:
            self._fetch(symbol=symbol, bar_size=bar_size, as_of=as_of, span=span, info=info)
        return EmbeddedProvider().get_bars(
            symbol=symbol, bar_size=bar_size, as_of=as_of, count=count, min_count=min_count
        )

    def _missing_span(
        self,
        symbol: Symbol,
        bar_size: str,
        cutoff: datetime,
        as_of: datetime,
        count: int,
        info: HistoryRequestInfo,
    ) -> timedelta | None:
        stored = Bar.objects.filter(symbol=symbol, bar_size=bar_size, ts__lte=cutoff)
        latest = stored.order_by("-ts").values_list("ts", flat=True).first()
        if latest is None or stored.count() < count:
            info.mode = "full"
            return lookback_span(count=count, bar_size=bar_size, sec_type=symbol.sec_type)
        next_open = latest + FIXED_DURATIONS.get(bar_size, timedelta(days=28))
        if next_open > cutoff:
            return None  # no later bar can have closed by as_of
        info.mode = "incremental"
        info.after = latest.isoformat()
        return as_of - latest

    def _fetch(
        self,
        *,
        symbol: Symbol,
        bar_size: str,
        as_of: datetime,
        span: timedelta,
        info: HistoryRequestInfo,
    ) -> None:
        contract = self._qualified_contract(symbol)
        info.duration = duration_str(span)
        info.what_to_show = what_to_show_for(symbol.sec_type)
        info.use_rth = symbol.sec_type == "STK"
        key = HistoricalRequestKey(
            contract=str(contract.conId),
            exchange=contract.exchange,
            end=as_of.astimezone(UTC).strftime("%Y%m%d %H:%M:%S UTC"),
            duration=info.duration,
            bar_size=bar_size,
            what_to_show=info.what_to_show,
        )
        what = f"{symbol.symbol} {bar_size} {info.what_to_show} {info.duration} to {key.end}"
        retry_s = self.retry_s if self.retry_s is not None else settings.IBKR_PACING_RETRY_S
        bars: list[BarData] = []
        for attempt in Retrying(
            retry=retry_if_exception_type(IbkrPacingViolationError),
            stop=stop_after_attempt(PACING_ATTEMPTS),
            wait=wait_none(),  # the limiter's back-off does the waiting
            reraise=True,
        ):
            with attempt:
                info.attempts += 1
                info.waited_s += self.limiter.acquire(key)
                try:
                    bars = self._request(contract, as_of, bar_size, info, what)
                except IbkrPacingViolationError as error:
                    logger.warning("%s; retrying in %.2f s", error, retry_s)
                    info.errors.append(str(error))
                    self.limiter.back_off(retry_s, key)
                    raise
                except IbkrNoDataError as error:
                    if info.mode != "incremental":
                        raise
                    # Nothing new since the latest stored bar (a weekend, a holiday).
                    info.errors.append(str(error))
                    bars = []
        cutoff = latest_closed_open(as_of, bar_size, symbol.trading_calendar)
        after = datetime.fromisoformat(info.after) if info.after else None
        rows = bar_rows(bars, symbol=symbol, bar_size=bar_size, cutoff=cutoff, after=after)
        before = Bar.objects.filter(symbol=symbol, bar_size=bar_size).count()
        Bar.objects.bulk_create(rows, ignore_conflicts=True)
        info.received = len(bars)
        info.kept = len(rows)
        info.stored = Bar.objects.filter(symbol=symbol, bar_size=bar_size).count() - before

    def _request(
        self,
        contract: Contract,
        as_of: datetime,
        bar_size: str,
        info: HistoryRequestInfo,
        what: str,
    ) -> list[BarData]:
        connection = ibkr_connection()
        # Within a run, at most the time left in its budget (apps.common.deadlines).
        timeout_s = time_left(connection.config.request_timeout_s, f"historical data: {what}")

        async def fetch(ib: IB) -> _Answer:
            errors: list[tuple[int, int, str]] = []

            def on_error(req_id: int, code: int, message: str, _contract: Any = None) -> None:
                errors.append((req_id, code, message))

            ib.errorEvent += on_error
            started = time.monotonic()
            try:
                bars = await ib.reqHistoricalDataAsync(
                    contract,
                    endDateTime=as_of.astimezone(UTC),
                    durationStr=info.duration,
                    barSizeSetting=bar_size,
                    whatToShow=info.what_to_show,
                    useRTH=info.use_rth,
                    formatDate=2,
                    timeout=timeout_s,
                )
            finally:
                ib.errorEvent -= on_error
            mine = [(code, message) for req_id, code, message in errors if req_id == bars.reqId]
            return _Answer(list(bars), mine, time.monotonic() - started)

        limit = connection.config.connect_timeout_s + timeout_s + 5
        answer = connection.call(fetch, timeout=time_left(limit, f"historical data: {what}"))
        if answer.errors:
            code, message = answer.errors[-1]
            raise _error_for(code, message, what)
        if not answer.bars and answer.elapsed_s >= timeout_s:
            raise IbkrHistoricalDataError(f"no answer from TWS within {timeout_s:.0f} s: {what}")
        return answer.bars

    def _qualified_contract(self, symbol: Symbol) -> Contract:
        contract = contract_for(symbol)
        if symbol.conid:
            return contract

        connection = ibkr_connection()

        async def qualify(ib: IB) -> Contract | None:
            return await connection.qualified(contract)

        limit = connection.config.connect_timeout_s + connection.config.request_timeout_s
        qualified = connection.call(qualify, timeout=time_left(limit, f"the contract of {symbol}"))
        if qualified is None:
            raise IbkrUnknownContractError(
                f"IBKR error {UNKNOWN_CONTRACT} for {symbol}: no unique contract"
                f" ({symbol.sec_type} {symbol.symbol} {symbol.currency} on {contract.exchange})",
                code=UNKNOWN_CONTRACT,
            )
        symbol.conid = qualified.conId
        try:
            with transaction.atomic():
                symbol.save(update_fields=["conid"])
        except IntegrityError as error:
            raise IbkrUnknownContractError(
                f"conId {symbol.conid} of {symbol} already belongs to another symbol",
                code=UNKNOWN_CONTRACT,
            ) from error
        return qualified
