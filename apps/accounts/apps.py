from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Who is signed in: the browser app's session login, logout and current user."""

    name = "apps.accounts"
    label = "accounts"
