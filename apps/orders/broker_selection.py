"""Which broker a strategy's orders go to. Paper unless live trading is explicitly configured."""

from collections.abc import Callable

from django.conf import settings

from apps.orders.brokers import Broker, BrokerUnavailableError
from apps.orders.paper_broker import PaperBroker

# Brokers by the name recorded on orders; the IBKR adapter (apps.ibkr) registers "ibkr" here.
BROKERS: dict[str, Callable[[], Broker]] = {PaperBroker.name: PaperBroker}


def broker_for(*, trading_mode: str, account_broker: str = "paper") -> Broker:
    """Paper broker by default; IBKR only with ``BROKER=ibkr``, ``IBKR_READONLY=false``, a
    strategy in live mode and an IBKR account (which may itself be an IBKR paper account,
    ``DU…``). ``account_broker`` is the strategy's account's broker (``paper`` or ``ibkr``).

    Raises BrokerUnavailableError when mode and account disagree or the live broker is not
    configured: a live order must never fall back silently to paper, nor paper to live.
    """
    if trading_mode != "live":
        if account_broker != PaperBroker.name:
            raise BrokerUnavailableError(
                f"a paper strategy trades a paper account; its account is at {account_broker}"
            )
        return BROKERS[PaperBroker.name]()
    if account_broker != "ibkr":
        raise BrokerUnavailableError(
            "a live strategy trades an IBKR account; its account is a paper book "
            "(choose the strategy's IBKR account)"
        )
    if settings.BROKER != "ibkr":
        raise BrokerUnavailableError("live trading needs BROKER=ibkr; this strategy is live")
    if settings.IBKR_READONLY:
        raise BrokerUnavailableError("live trading needs IBKR_READONLY=false; it is read-only")
    return broker_named("ibkr")


def broker_named(name: str) -> Broker:
    """The broker an existing order was sent to, by its recorded name (``Order.broker``).

    Raises BrokerUnavailableError for a broker this process cannot reach.
    """
    factory = BROKERS.get(name)
    if factory is None:
        raise BrokerUnavailableError(f"broker {name!r} is not available in this version")
    return factory()
