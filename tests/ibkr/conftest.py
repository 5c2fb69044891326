"""Fixtures: a TWS simulator on a loopback port and a real ib_async ``IB`` connected to it.

Any ERROR from ib_async's decoder (a malformed message) or a connect-sync timeout fails the
test: the decoder swallows its exceptions, so the log is the only place they show up.
"""

import logging
from collections.abc import Iterator

import pytest
from ib_async import IB

from apps.ibkr.simulator import running_simulator

WATCHED_LOGGERS = ("ib_async.Decoder", "ib_async.decoder")


@pytest.fixture(autouse=True)
def _no_decoder_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO, logger="ib_async")
    yield
    records = caplog.get_records("setup") + caplog.get_records("call")
    bad = [
        r.getMessage()
        for r in records
        if r.levelno >= logging.ERROR
        and (r.name in WATCHED_LOGGERS or "timed out" in r.getMessage())
    ]
    assert not bad, f"ib_async reported: {bad}"


@pytest.fixture
def simulator() -> Iterator[tuple[str, int]]:
    """``(host, port)`` of a simulator running in a background thread."""
    with running_simulator() as address:
        yield address


@pytest.fixture
def ib(simulator: tuple[str, int]) -> Iterator[IB]:
    """A real ``IB`` client connected (and synchronised) to the simulator."""
    client = IB()
    client.RequestTimeout = 5
    host, port = simulator
    client.connect(host, port, clientId=7, timeout=5)
    yield client
    client.disconnect()
