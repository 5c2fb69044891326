from django.apps import AppConfig


class IbkrConfig(AppConfig):
    name = "apps.ibkr"
    label = "ibkr"

    def ready(self) -> None:
        # The orders app knows brokers by name only; the IBKR adapter registers itself.
        from apps.ibkr.gateway import ibkr_broker
        from apps.ibkr.market_data import IbkrProvider
        from apps.marketdata.providers import PROVIDERS
        from apps.orders.broker_selection import BROKERS

        BROKERS["ibkr"] = ibkr_broker
        PROVIDERS["ibkr"] = IbkrProvider
