"""Fixtures: a TWS simulator on a loopback port and real ib_async ``IB`` clients connected to it.
None of them needs the database (the simulator reads the shipped CSV bar files).

Any ERROR from ib_async's decoder (a malformed message) or a request timeout ("timed out")
fails the test: the decoder swallows its exceptions, so the log is the only place they show
up. Expected TWS errors (162, 201, 202, 326, …) are logged by ``ib_async.wrapper`` and are not
failures by themselves.
"""

import logging
from collections.abc import Callable, Iterator

import pytest
from ib_async import IB

from devtools.tws_simulator import SimulatorHandle, running_simulator

WATCHED_LOGGERS = ("ib_async.Decoder", "ib_async.decoder")
ConnectIb = Callable[..., IB]


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
def simulator() -> Iterator[SimulatorHandle]:
    """A simulator running in a background thread: ``.host``, ``.port``, ``.address`` and
    the control methods of ``SimulatorHandle``. No database needed."""
    with running_simulator() as handle:
        yield handle


@pytest.fixture
def connect_ib(simulator: SimulatorHandle) -> Iterator[ConnectIb]:
    """Factory ``connect_ib(client_id=7, timeout=5) -> IB``: a real ``IB`` connected and
    synchronised to the simulator; every client it made is disconnected at teardown."""
    clients: list[IB] = []

    def connect(client_id: int = 7, timeout: float = 5) -> IB:
        client = IB()
        client.RequestTimeout = 5
        clients.append(client)
        client.connect(simulator.host, simulator.port, clientId=client_id, timeout=timeout)
        return client

    yield connect
    for client in clients:
        client.disconnect()


@pytest.fixture
def ib(connect_ib: ConnectIb) -> IB:
    """A real ``IB`` client (clientId 7) connected and synchronised to the simulator."""
    return connect_ib(7)
