"""The process-wide IBKR connection and broker (one long-lived connection per process).

Created on first use from the ``IBKR_*`` settings, with the event recorders and the
reconcile-on-connect hooks (orders, then positions) attached; a forked child (Celery prefork)
starts without it.
"""

import os
import threading

from django.conf import settings

from apps.ibkr.broker import IbkrBroker
from apps.ibkr.connection import IbkrConfig, IbkrConnection
from apps.ibkr.recording import (
    attach_recorders,
    reconcile_on_connect,
    reconcile_positions_on_connect,
)

_lock = threading.Lock()
_connection: IbkrConnection | None = None


def ibkr_connection() -> IbkrConnection:
    """This process's connection (created, not yet connected, on first call)."""
    global _connection
    with _lock:
        if _connection is None:
            _connection = IbkrConnection(IbkrConfig.from_settings())
            attach_recorders(_connection)
            _connection.add_connect_hook(reconcile_on_connect)
            _connection.add_connect_hook(reconcile_positions_on_connect)
        return _connection


def ibkr_connection_close() -> None:
    """Close this process's connection; the next ``ibkr_connection()`` makes a new one (with
    the settings of that moment)."""
    global _connection
    with _lock:
        connection, _connection = _connection, None
    if connection is not None:
        connection.close()


def ibkr_broker() -> IbkrBroker:
    """The IBKR broker on this process's connection."""
    return IbkrBroker(ibkr_connection(), ack_timeout_s=settings.IBKR_ORDER_ACK_TIMEOUT_S)


def _forget_after_fork() -> None:
    # The parent's loop thread does not exist in a forked child: start afresh there.
    global _connection, _lock
    _connection, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
