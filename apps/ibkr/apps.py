from django.apps import AppConfig


class IbkrConfig(AppConfig):
    name = "apps.ibkr"
    label = "ibkr"
