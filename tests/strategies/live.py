"""Test helper: grant or revoke the live-trading permission as an operator does in the admin."""

from django.contrib.auth.models import Permission, User


def trade_live_permission() -> Permission:
    """The ``strategies.trade_live`` permission row (created by the migrations)."""
    return Permission.objects.get(content_type__app_label="strategies", codename="trade_live")


def grant_live_trading(user: User) -> User:
    """Give ``user`` the permission directly; returns the user reloaded (no permission cache)."""
    user.user_permissions.add(trade_live_permission())
    return User.objects.get(pk=user.pk)


def revoke_live_trading(user: User) -> User:
    """Take the permission away; returns the user reloaded (no permission cache)."""
    user.user_permissions.remove(trade_live_permission())
    return User.objects.get(pk=user.pk)
