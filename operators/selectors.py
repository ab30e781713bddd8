"""Reads about operators, stores and staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .models import ConfidentialityUndertaking, Store, UndertakingAcceptance
from .tenancy import scoped

if TYPE_CHECKING:
    from .tenancy import AnyUser


def undertaking_current() -> ConfidentialityUndertaking | None:
    return ConfidentialityUndertaking.objects.order_by("-published_at").first()


def undertaking_pending(user: AnyUser) -> ConfidentialityUndertaking | None:
    """The undertaking ``user`` still has to accept, or None when up to date.

    Cached on the user object so a request pays for it once."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_telereg_undertaking_pending"):
        current = undertaking_current()
        pending = None
        if (
            current is not None
            and not UndertakingAcceptance.objects.filter(user=user, undertaking=current).exists()
        ):
            pending = current
        user._telereg_undertaking_pending = pending
    return user._telereg_undertaking_pending


def store_list(*, user: AnyUser) -> QuerySet[Store]:
    return scoped(Store.objects.select_related("operator"), user)
