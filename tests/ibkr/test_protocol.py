"""Wire-format helpers and request parsing, without a socket."""

import socket
import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.ibkr.simulator import running_simulator
from apps.ibkr.simulator.history import HistoryError, parse_duration, parse_end
from apps.ibkr.simulator.instruments import find_instruments
from apps.ibkr.simulator.protocol import (
    SERVER_VERSION,
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

    with running_simulator() as address, socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"API\0" + struct.pack(">I", 9) + b"v157..178")
        version, _conn_time = read(sock)
        assert version == "157"
        sock.sendall(frame(71, 2, 5, ""))
        assert read(sock) == ["9", "1", "1"]
        assert read(sock) == ["15", "1", "DU123456"]
        sock.sendall(frame(9, 8, 42))
        assert read(sock)[:4] == ["4", "2", "-1", "321"]
