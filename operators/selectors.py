"""Reads about operators, stores and staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, Exists, OuterRef, QuerySet, Value, When

from .models import (
    ConfidentialityUndertaking,
    Partner,
    RoleGrant,
    RoleGrantState,
    StaffMember,
    Store,
    StoreStatus,
    UndertakingAcceptance,
)
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
    staff = getattr(user, "_telereg_staff", None)
    if staff is not None and getattr(staff, "undertaking_accepted", False):
        return None  # staff_of already saw the newest undertaking accepted
    if not hasattr(user, "_telereg_undertaking_pending"):
        # One query: the newest undertaking and whether this user accepted it.
        current = (
            ConfidentialityUndertaking.objects.order_by("-published_at")
            .annotate(
                accepted=Exists(
                    UndertakingAcceptance.objects.filter(user=user, undertaking=OuterRef("pk"))
                )
            )
            .first()
        )
        user._telereg_undertaking_pending = (
            current if current is not None and not current.accepted else None
        )
    return user._telereg_undertaking_pending


def store_list(*, user: AnyUser) -> QuerySet[Store]:
    return scoped(Store.objects.select_related("operator"), user)


def staff_list(*, user: AnyUser) -> QuerySet[StaffMember]:
    return scoped(StaffMember.objects.select_related("operator", "store", "user"), user)


def role_grant_list(*, user: AnyUser) -> QuerySet[RoleGrant]:
    """Grants of the user's operator (every operator for platform admins),
    pending first, newest first."""
    pending_first = Case(When(state=RoleGrantState.PENDING, then=Value(0)), default=Value(1))
    return scoped(
        RoleGrant.objects.select_related("staff__operator", "staff__store"), user
    ).order_by(pending_first, "-requested_at", "-id")


_PARTNER_CACHE_ATTR = "_telereg_partner"


def partner_of(user: AnyUser | None) -> Partner | None:
    """The active partner whose account ``user`` is, with its operator, or
    None (staff, anonymous, a deactivated partner). Cached on the user object,
    which lives for one request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, _PARTNER_CACHE_ATTR):
        partner = (
            Partner.objects.select_related("operator").filter(user_id=user.pk, active=True).first()
        )
        setattr(user, _PARTNER_CACHE_ATTR, partner)
    return getattr(user, _PARTNER_CACHE_ATTR)


def store_suspended_for(user) -> bool:
    """Whether ``user`` is staff of a store that is suspended or blacklisted
    (they may not sign in, on the pages or for an API token)."""
    if user is None or not getattr(user, "pk", None):
        return False
    return (
        StaffMember.objects.filter(user_id=user.pk, store__isnull=False)
        .exclude(store__status=StoreStatus.ACTIVE)
        .exists()
    )
