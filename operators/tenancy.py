"""The one tenancy mechanism: every queryset a person sees passes through
:func:`scoped`. Staff see only their operator's rows (and clerks only their
store's, where a model names a store path); platform admins see everything;
anyone else sees nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet

from .roles import Role, role_can

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from .models import StaffMember

    AnyUser = AbstractBaseUser | AnonymousUser

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_telereg_staff"


def staff_of(user: AnyUser | None) -> StaffMember | None:
    """The active staff profile of a user, or None (cached on the user object)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if not hasattr(user, _CACHE_ATTR):
        from django.db.models import Exists, OuterRef, Subquery

        from .models import ConfidentialityUndertaking, StaffMember, UndertakingAcceptance

        # The same query tells whether the newest undertaking is accepted, so
        # the gate that every request passes costs no query of its own.
        newest = ConfidentialityUndertaking.objects.order_by("-published_at").values("pk")[:1]
        staff = (
            StaffMember.objects.select_related("operator", "store")
            .annotate(
                undertaking_accepted=Exists(
                    UndertakingAcceptance.objects.filter(
                        user=OuterRef("user"), undertaking=Subquery(newest)
                    )
                )
            )
            .filter(user=user, active=True)
            .first()
        )
        setattr(user, _CACHE_ATTR, staff)
    return getattr(user, _CACHE_ATTR)


def is_platform_admin(user: AnyUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def can(user: AnyUser | None, permission: str) -> bool:
    """The permission matrix applied to a signed-in user."""
    if is_platform_admin(user):
        return True
    staff = staff_of(user)
    return staff is not None and role_can(staff.role, permission)


def scoped(
    queryset: QuerySet[M],
    user: AnyUser | None,
    *,
    operator_path: str | None = None,
    store_path: str | None = None,
) -> QuerySet[M]:
    """Restrict a queryset to what ``user`` may see, using the model's tenancy
    paths (or the given ones, for models we do not own such as ``auth.User``)."""
    if is_platform_admin(user):
        return queryset
    staff = staff_of(user)
    if staff is None:
        return queryset.none()
    model = queryset.model
    operator_path = operator_path or getattr(model, "TENANT_OPERATOR_PATH", None)
    if operator_path is None:
        # A model that does not say how it is scoped is never shown to tenants.
        return queryset.none()
    queryset = queryset.filter(**{operator_path: staff.operator_id})
    store_path = store_path or getattr(model, "TENANT_STORE_PATH", None)
    if store_path and staff.role == Role.CLERK:
        queryset = queryset.filter(**{store_path: staff.store_id})
    return queryset
