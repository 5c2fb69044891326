"""Wire-format helpers and request parsing, without a socket."""

import socket
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from ib_async.decoder import Decoder

from devtools.tws_simulator import running_simulator
from devtools.tws_simulator.history import HistoryError, parse_duration, parse_end
from devtools.tws_simulator.instruments import INSTRUMENTS, find_instruments
from devtools.tws_simulator.order_messages import (
    commission_report_fields,
    exec_details_fields,
    open_order_fields,
    order_status_fields,
    position_fields,
)
from devtools.tws_simulator.orders import SimExecution, SimOrder, SimPosition, commission_for
from devtools.tws_simulator.protocol import (
    SERVER_VERSION,
    Field,
    ProtocolError,
    decode_body,
    encode_message,
    negotiate,
    parse_version_range,
)


def test_encode_message_frames_nul_terminated_fields() -> None:
    frame = encode_message([9, 1, None, True, Decimal("100.50000000")])
    assert frame[:4] == struct.pack(">I", len(frame) - 4)
    assert decode_body(frame[4:]) == ["9", "1", "", "1", "100.5"]


def test_empty_frame_is_refused() -> None:
    with pytest.raises(ProtocolError):
        encode_message([])


def test_version_range_and_negotiation() -> None:
    assert parse_version_range(b"v157..178 +PACEAPI") == (157, 178)
    assert negotiate(157, 178) == SERVER_VERSION == 157
    with pytest.raises(ProtocolError):
        negotiate(160, 178)


def test_parse_end_formats() -> None:
    expected = datetime(2013, 3, 1, 23, 59, 59, tzinfo=UTC)
    assert parse_end("20130301 23:59:59 UTC") == expected
    assert parse_end("20130301-23:59:59") == expected
    assert parse_end("20130301") == expected
    assert parse_end("20130301 18:59:59 US/Eastern") == expected
    assert parse_end("", now=expected) == expected


def test_parse_duration() -> None:
    assert parse_duration("30 D") == timedelta(days=30)
    assert parse_duration("2 W") == timedelta(days=14)
    with pytest.raises(HistoryError):
        parse_duration("forever")


def test_find_instruments() -> None:
    def find(**kwargs: object) -> list[int]:
        base = dict(con_id=0, symbol="", sec_type="", currency="", exchange="", local_symbol="")
        return [i.con_id for i in find_instruments(**{**base, **kwargs})]  # type: ignore[arg-type]

    assert find(symbol="GOOG", sec_type="STK", exchange="SMART") == [208813720]
    assert find(con_id=12087792) == [12087792]
    assert find(symbol="EUR", sec_type="CASH", currency="USD", exchange="IDEALPRO") == [12087792]
    assert find(symbol="EUR", exchange="SMART") == []
    assert find(symbol="NOPE") == []


def test_raw_handshake_and_bad_request() -> None:
    """Over a plain socket: version reply, startApi answers, error 321 for a malformed
    reqContractDetails (msg 9 without its contract fields)."""

    def frame(*fields: object) -> bytes:
        return encode_message([str(f) for f in fields])

    def read(sock: socket.socket) -> list[str]:
        header = sock.recv(4, socket.MSG_WAITALL)
        body = sock.recv(struct.unpack(">I", header)[0], socket.MSG_WAITALL)
        return decode_body(body)

    with running_simulator() as sim, socket.create_connection(sim.address, timeout=5) as sock:
        sock.sendall(b"API\0" + struct.pack(">I", 9) + b"v157..178")
        version, _conn_time = read(sock)
        assert version == "157"
        sock.sendall(frame(71, 2, 5, ""))
        assert read(sock) == ["9", "1", "1"]
        assert read(sock) == ["15", "1", "DU123456"]
        sock.sendall(frame(9, 8, 42))
        assert read(sock)[:4] == ["4", "2", "-1", "321"]


class _Recorder:
    """Stands in for ib_async's Wrapper: records the calls the Decoder makes."""

    defaultTimezone = UTC

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ib = SimpleNamespace(TimezoneTWS=None)

    def __getattr__(self, name: str) -> Callable[..., None]:
        def record(*args: object) -> None:
            self.calls.append((name, args))

        return record


def _decode(fields: list[Field]) -> list[tuple[str, tuple[Any, ...]]]:
    """Encode like the simulator, decode with ib_async's Decoder at server version 157."""
    recorder = _Recorder()
    frame = encode_message(fields)
    Decoder(recorder, 157).interpret(decode_body(frame[4:]))  # type: ignore[arg-type]
    return recorder.calls


def _order() -> SimOrder:
    [goog] = [i for i in INSTRUMENTS if i.symbol == "GOOG"]
    return SimOrder(
        order_id=12,
        perm_id=900000007,
        client_id=7,
        instrument=goog,
        exchange="SMART",
        action="SELL",
        quantity=Decimal(100),
        order_type="STP LMT",
        lmt_price=Decimal("790.5"),
        aux_price=Decimal("791"),
        tif="GTC",
        oca_group="oca-1",
        account="DU123456",
        open_close="O",
        origin=0,
        order_ref="sibyl:42",
        parent_id=11,
        status="PreSubmitted",
    )


def test_open_order_layout_matches_decoder() -> None:
    fields = open_order_fields(_order())
    assert len(fields) == 120
    [(name, (order_id, contract, order, state))] = _decode(fields)
    assert (name, order_id, contract.conId, contract.symbol) == ("openOrder", 12, 208813720, "GOOG")
    assert (order.clientId, order.permId, order.parentId) == (7, 900000007, 11)
    assert (order.orderRef, order.ocaGroup, order.tif, order.orderType) == (
        "sibyl:42",
        "oca-1",
        "GTC",
        "STP LMT",
    )
    assert (order.totalQuantity, order.lmtPrice, order.auxPrice) == (100.0, 790.5, 791.0)
    assert state.status == "PreSubmitted"


def test_status_execution_commission_position_layouts() -> None:
    order = _order()
    [(name, args)] = _decode(order_status_fields(order))
    assert name == "orderStatus"
    assert args == (12, "PreSubmitted", 0.0, 100.0, 0.0, 900000007, 11, 0.0, 7, "", 0.0)
    execution = SimExecution(
        exec_id="0c72b4c8.65d1a2b3.01.01",
        order_id=12,
        perm_id=900000007,
        client_id=7,
        instrument=order.instrument,
        exchange="NASDAQ",
        account="DU123456",
        side="SLD",
        shares=Decimal(40),
        price=Decimal("790.75"),
        time=datetime(2024, 1, 2, 15, 30, tzinfo=UTC),
        cum_qty=Decimal(40),
        avg_price=Decimal("790.75"),
        order_ref="sibyl:42",
        commission=Decimal("1.00"),
        realized_pnl=None,
    )
    [(name, (req_id, contract, ex))] = _decode(exec_details_fields(-1, execution))
    assert (name, req_id, contract.conId, ex.execId, ex.side) == (
        "execDetails",
        -1,
        208813720,
        "0c72b4c8.65d1a2b3.01.01",
        "SLD",
    )
    assert (ex.shares, ex.price, ex.permId, ex.clientId, ex.orderRef) == (
        40.0,
        790.75,
        900000007,
        7,
        "sibyl:42",
    )
    assert ex.time == datetime(2024, 1, 2, 15, 30, tzinfo=UTC)
    [(name, (report,))] = _decode(commission_report_fields(execution))
    assert (name, report.execId, report.commission, report.currency) == (
        "commissionReport",
        "0c72b4c8.65d1a2b3.01.01",
        1.0,
        "USD",
    )
    position = SimPosition(order.instrument, Decimal(-40), Decimal("790.75"))
    [(name, (account, contract, size, cost))] = _decode(position_fields("DU123456", position))
    assert (name, account, contract.conId, size, cost) == (
        "position",
        "DU123456",
        208813720,
        -40.0,
        790.75,
    )


def test_commission_schedule() -> None:
    goog, eur = INSTRUMENTS
    assert commission_for(goog, Decimal(100), Decimal(80000)) == Decimal("1.00")
    assert commission_for(goog, Decimal(1000), Decimal(800000)) == Decimal("5.00")
    assert commission_for(goog, Decimal(10), Decimal(50)) == Decimal("0.50")  # 1% cap
    assert commission_for(eur, Decimal(20000), Decimal(21600)) == Decimal("2.00")
    assert commission_for(eur, Decimal(1000000), Decimal(1080000)) == Decimal("21.60")
