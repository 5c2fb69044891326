"""The IBKR connection against the TWS simulator: clientId collisions (error 326) on connect
and on reconnect cost no connect timeout."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from ib_async import IB

from apps.ibkr.gateway import ibkr_connection

# Long enough that waiting it out once cannot pass for moving on at once, even on a slow machine.
CONNECT_TIMEOUT_S = 60.0
AT_ONCE_S = 20.0  # a third of the timeout: room for a loaded machine


def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def _noop(ib: Any) -> None:
    return None


@pytest.fixture
def squatter(simulator: Any, ibkr_settings: Any) -> Iterator[IB]:
    """Another API client holding Sibyl's first clientId (``IBKR_CLIENT_ID``)."""
    client = IB()
    client.connect(simulator.host, simulator.port, clientId=ibkr_settings.IBKR_CLIENT_ID)
    yield client
    client.disconnect()


def test_client_id_in_use_on_connect_and_reconnect_moves_on_at_once(
    simulator: Any, ibkr_settings: Any, squatter: IB
) -> None:
    # given the first clientId is taken and the connect timeout is long
    ibkr_settings.IBKR_CONNECT_TIMEOUT_S = CONNECT_TIMEOUT_S
    connection = ibkr_connection()
    # when Sibyl connects
    started = time.monotonic()
    connection.call(_noop)
    # then error 326 moves it to the next clientId without waiting out the timeout
    assert connection.client_id == ibkr_settings.IBKR_CLIENT_ID + 1
    assert time.monotonic() - started < AT_ONCE_S
    # when its connection drops, the reconnect meets error 326 again and moves on at once
    dropped = time.monotonic()
    connection.disconnect()
    reconnected = lambda: connection.connects >= 2 and connection.ib.isConnected()  # noqa: E731
    wait_for(reconnected, 3 * CONNECT_TIMEOUT_S)
    assert time.monotonic() - dropped < AT_ONCE_S
    assert connection.client_id == ibkr_settings.IBKR_CLIENT_ID + 1
