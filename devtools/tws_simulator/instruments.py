"""The simulator's instrument table and the contract fields of its answers.

Implements the payloads of contractDetails (msg 10, server version 157 layout) and
symbolSamples (msg 79) for the instruments below; matching follows TWS loosely: a conId
selects one instrument, otherwise symbol plus whatever of secType/currency/exchange is given.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from devtools.tws_simulator.protocol import Field


@dataclass(frozen=True)
class Instrument:
    """One tradable contract as TWS describes it. Prices are in ``currency`` (USD for both);
    the first entry of ``bar_files`` also supplies the default market price (its last close)."""

    con_id: int
    symbol: str
    sec_type: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    long_name: str
    min_tick: Decimal
    time_zone: str
    valid_exchanges: tuple[str, ...] = field(default=())
    derivative_sec_types: tuple[str, ...] = field(default=())
    stock_type: str = ""
    bar_files: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Bar size (``"1 day"``, ``"1 hour"``) -> CSV path relative to the repository root."""


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        con_id=208813720,
        symbol="GOOG",
        sec_type="STK",
        primary_exchange="NASDAQ",
        currency="USD",
        local_symbol="GOOG",
        trading_class="NMS",
        long_name="ALPHABET INC-CL C",
        min_tick=Decimal("0.01"),
        time_zone="US/Eastern",
        valid_exchanges=("SMART", "NASDAQ", "ARCA", "ISLAND"),
        derivative_sec_types=("OPT", "CFD", "WAR"),
        stock_type="COMMON",
        bar_files={"1 day": "data/bars/GOOG_1d.csv"},
    ),
    Instrument(
        con_id=12087792,
        symbol="EUR",
        sec_type="CASH",
        primary_exchange="IDEALPRO",
        currency="USD",
        local_symbol="EUR.USD",
        trading_class="EUR.USD",
        long_name="European Monetary Union Euro",
        min_tick=Decimal("0.00005"),
        time_zone="US/Eastern",
        valid_exchanges=("IDEALPRO",),
        bar_files={"1 hour": "data/bars/EURUSD_1h.csv"},
    ),
)

ORDER_TYPES = "ACTIVETIM,ADJUST,ALERT,ALGO,ALLOC,LMT,MKT,MOC,MOO,STP,STPLMT,TRAIL"


def _exchange_matches(instrument: Instrument, exchange: str) -> bool:
    if not exchange:
        return True
    if exchange == "SMART":
        return instrument.sec_type != "CASH"
    return exchange == instrument.primary_exchange or exchange in instrument.valid_exchanges


def find_instruments(
    *, con_id: int, symbol: str, sec_type: str, currency: str, exchange: str, local_symbol: str
) -> list[Instrument]:
    """Instruments matching a reqContractDetails contract (empty fields match anything)."""
    if con_id:
        return [i for i in INSTRUMENTS if i.con_id == con_id]
    if not symbol and not local_symbol:
        return []
    return [
        i
        for i in INSTRUMENTS
        if (not symbol or i.symbol == symbol.upper())
        and (not local_symbol or i.local_symbol == local_symbol.upper())
        and (not sec_type or i.sec_type == sec_type)
        and (not currency or i.currency == currency.upper())
        and _exchange_matches(i, exchange)
    ]


def match_symbols(pattern: str) -> list[Instrument]:
    """reqMatchingSymbols: instruments whose symbol or long name starts with ``pattern``."""
    needle = pattern.strip().upper()
    if not needle:
        return []
    return [i for i in INSTRUMENTS if i.symbol.startswith(needle) or i.long_name.startswith(needle)]


def contract_details_fields(req_id: int, instrument: Instrument, exchange: str) -> list[Field]:
    """contractDetails (msg 10, version 8) for server version 157: the mdSizeMultiplier field
    is still present, there are no minSize/sizeIncrement fields. ``exchange`` is echoed as
    the contract's exchange (``SMART`` for stocks unless another was requested)."""
    i = instrument
    return [
        10,
        8,
        req_id,
        i.symbol,
        i.sec_type,
        "",  # lastTradeDateOrContractMonth[-lastTradeTime[-tz]]
        "0",  # strike
        "",  # right
        exchange,
        i.currency,
        i.local_symbol,
        i.trading_class,  # marketName
        i.trading_class,
        i.con_id,
        i.min_tick,
        1,  # mdSizeMultiplier (server version < 164 only)
        "",  # multiplier
        ORDER_TYPES,
        ",".join(i.valid_exchanges),
        1,  # priceMagnifier
        0,  # underConId
        i.long_name,
        i.primary_exchange,
        "",  # contractMonth
        "",  # industry
        "",  # category
        "",  # subcategory
        i.time_zone,
        "",  # tradingHours
        "",  # liquidHours
        "",  # evRule
        "",  # evMultiplier
        0,  # number of secIds
        1,  # aggGroup
        "",  # underSymbol
        "",  # underSecType
        "26" if i.sec_type == "STK" else "239",  # marketRuleIds
        "",  # realExpirationDate
        i.stock_type,
    ]


def symbol_samples_fields(req_id: int, instruments: list[Instrument]) -> list[Field]:
    """symbolSamples (msg 79) for server version 157 (no description/issuerId fields)."""
    fields: list[Field] = [79, req_id, len(instruments)]
    for i in instruments:
        fields += [i.con_id, i.symbol, i.sec_type, i.primary_exchange, i.currency]
        fields += [len(i.derivative_sec_types), *i.derivative_sec_types]
    return fields


@dataclass(frozen=True)
class ContractRef:
    """The 12 contract fields ib_async sends inside a request (``Client.send`` layout)."""

    con_id: int
    symbol: str
    sec_type: str
    last_trade: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str

    @classmethod
    def from_fields(cls, fields: list[str], start: int) -> "ContractRef":
        """Read conId, symbol, secType, expiry, strike, right, multiplier, exchange,
        primaryExchange, currency, localSymbol, tradingClass from ``fields[start:start+12]``."""
        f = fields[start : start + 12]
        if len(f) < 12:
            raise ValueError(f"contract needs 12 fields, got {len(f)}")
        return cls(
            con_id=int(f[0] or 0),
            symbol=f[1],
            sec_type=f[2],
            last_trade=f[3],
            exchange=f[7],
            primary_exchange=f[8],
            currency=f[9],
            local_symbol=f[10],
        )

    def lookup(self) -> list[Instrument]:
        """The table's instruments matching this contract (see ``find_instruments``)."""
        return find_instruments(
            con_id=self.con_id,
            symbol=self.symbol,
            sec_type=self.sec_type,
            currency=self.currency,
            exchange=self.exchange,
            local_symbol=self.local_symbol,
        )
