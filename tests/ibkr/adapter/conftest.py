"""Fixtures for the IBKR adapter: Sibyl's settings pointed at a loopback TWS simulator, the
process-wide connection closed after each test so the next one starts clean, and live
strategies trading the simulator's own account (the one account its login manages)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.ibkr.connection import IbkrConnection
from apps.ibkr.gateway import ibkr_connection, ibkr_connection_close
from apps.trading.models import Account
from devtools.tws_simulator.orders import ACCOUNT as SIMULATOR_ACCOUNT
from tests import factories


def simulator_account_for(owner: User | None) -> Account:
    """The simulator's IBKR paper account (``DU123456``), created when missing (owned by the
    first ``owner``; later owners become members, so each may trade it)."""
    account, _ = Account.objects.get_or_create(
        broker="ibkr",
        broker_account_id=SIMULATOR_ACCOUNT,
        defaults={"name": "IBKR paper (simulator)", "owner": owner},
    )
    if owner is not None and account.owner_id != owner.pk:
        account.members.add(owner)
    return account


@pytest.fixture(autouse=True)
def live_strategies_trade_the_simulator_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """``StrategyFactory``'s live strategies trade ``DU123456``: the gateway refuses orders
    for an account its login does not manage (``apps.ibkr.broker.managed_account_check``)."""
    monkeypatch.setattr(factories, "ibkr_account_for", simulator_account_for)


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
