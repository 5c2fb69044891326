"""Reads of trading accounts: who may see and trade which."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from apps.trading.models import Account


def accounts_of(*, user_id: int | None) -> QuerySet[Account]:
    """Accounts ``user_id`` owns or is a member of (None: the operator's, ownerless ones)."""
    if user_id is None:
        return Account.objects.filter(owner__isnull=True)
    member_of = Account.members.through.objects.filter(user_id=user_id).values("account_id")
    return Account.objects.filter(Q(owner_id=user_id) | Q(pk__in=member_of))


def accounts_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Every account for staff; otherwise the user's own and those they are a member of;
    nothing for an anonymous user."""
    if not user.is_authenticated:
        return Account.objects.none()
    if getattr(user, "is_staff", False):
        return Account.objects.all()
    return accounts_of(user_id=user.pk)
