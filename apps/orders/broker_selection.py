"""Which broker a strategy's orders go to. Paper unless live trading is explicitly configured."""

from django.conf import settings

from apps.orders.brokers import Broker, BrokerUnavailableError
from apps.orders.paper_broker import PaperBroker


def broker_for(*, trading_mode: str) -> Broker:
    """Paper broker by default; IBKR only with ``BROKER=ibkr`` and a strategy in live mode.

    Raises BrokerUnavailableError for a live strategy whose broker is not configured: a live
    order must never fall back silently to paper, nor paper to live.
    """
    if trading_mode != "live":
        return PaperBroker()
    if settings.BROKER != "ibkr":
        raise BrokerUnavailableError("live trading needs BROKER=ibkr; this strategy is live")
    raise BrokerUnavailableError("the IBKR adapter is not available in this version")
