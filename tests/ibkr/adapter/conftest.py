"""Fixtures for the IBKR adapter: Sibyl's settings pointed at a loopback TWS simulator, and the
process-wide connection closed after each test so the next one starts clean."""

from collections.abc import Iterator
from typing import Any

import pytest

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.gateway import ibkr_connection, ibkr_connection_close


@pytest.fixture
def ibkr_settings(settings: Any, simulator: Any) -> Iterator[Any]:
    """``BROKER=ibkr`` at the simulator, orders allowed (``IBKR_READONLY=false``)."""
    settings.BROKER = "ibkr"
    settings.IBKR_HOST = simulator.host
    settings.IBKR_PORT = simulator.port
    settings.IBKR_CLIENT_ID = 11
    settings.IBKR_READONLY = False
    settings.IBKR_CONNECT_TIMEOUT_S = 5.0
    settings.IBKR_REQUEST_TIMEOUT_S = 5.0
    settings.IBKR_RECONNECT_MAX_S = 0.5
    settings.IBKR_ORDER_ACK_TIMEOUT_S = 3.0
    ibkr_connection_close()
    yield settings
    ibkr_connection_close()


@pytest.fixture
def connection(ibkr_settings: Any) -> IbkrConnection:
    """The process-wide IBKR connection for the simulator (connects on first call)."""
    return ibkr_connection()
