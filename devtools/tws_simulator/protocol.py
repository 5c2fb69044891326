"""TWS API wire format: the ``API\\0`` handshake, length-prefixed frames, field encoding.

Every message after the handshake is a 4-byte big-endian length followed by NUL-terminated
text fields (the first one the message id). The simulator negotiates server version 157, the
lowest ib_async 2.1 accepts (``Client.MinClientVersion``): it has the fewest optional fields.
"""

import asyncio
import struct
from collections.abc import Iterable
from decimal import Decimal

SERVER_VERSION = 157
HANDSHAKE_PREFIX = b"API\0"
MAX_FRAME = 16 * 1024 * 1024

Field = str | int | float | Decimal | bool | None


class ProtocolError(Exception):
    """The peer broke the wire format (bad prefix, oversized frame, unsupported versions)."""


def encode_field(value: Field) -> str:
    """One field as TWS text: ``None`` empty, bools ``1``/``0``, Decimals without exponent."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def encode_message(fields: Iterable[Field]) -> bytes:
    """Fields -> one frame: length prefix + NUL-terminated fields. Refuses an empty message."""
    body = "".join(encode_field(field) + "\0" for field in fields).encode()
    if not body:
        raise ProtocolError("refusing to send an empty frame")
    return struct.pack(">I", len(body)) + body


def decode_body(body: bytes) -> list[str]:
    """A frame's body -> its text fields (the trailing NUL dropped)."""
    fields = body.decode(errors="backslashreplace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """Read one length-prefixed frame body; ``asyncio.IncompleteReadError`` at end of stream."""
    header = await reader.readexactly(4)
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is too large")
    return await reader.readexactly(length)


def parse_version_range(body: bytes) -> tuple[int, int]:
    """The client's ``v157..178[ options]`` -> (min, max) client versions."""
    text = body.decode(errors="replace").split(" ", 1)[0]
    if not text.startswith("v"):
        raise ProtocolError(f"bad version range {text!r}")
    low, _, high = text[1:].partition("..")
    try:
        return int(low), int(high or low)
    except ValueError as error:
        raise ProtocolError(f"bad version range {text!r}") from error


async def read_handshake(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read ``API\\0`` + the framed version range; returns (min, max) client versions."""
    prefix = await reader.readexactly(len(HANDSHAKE_PREFIX))
    if prefix != HANDSHAKE_PREFIX:
        raise ProtocolError(f"bad handshake prefix {prefix!r}")
    return parse_version_range(await read_frame(reader))


def negotiate(low: int, high: int) -> int:
    """The server version for a client range: ``SERVER_VERSION`` if inside it, else error."""
    if not low <= SERVER_VERSION <= high:
        raise ProtocolError(f"client versions {low}..{high} exclude {SERVER_VERSION}")
    return SERVER_VERSION
