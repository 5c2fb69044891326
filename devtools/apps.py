"""Django app config: lets ``manage.py`` find the development commands."""

from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """The development tools app (no models)."""

    name = "devtools"
