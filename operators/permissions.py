"""The API's gate: signed in, an active staff member (or platform admin), and
the current confidentiality undertaking accepted. Each refusal has its own code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, permissions

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

from .selectors import undertaking_pending
from .tenancy import (
    can,
    is_platform_admin,
    second_factor_required,
    session_unverified,
    staff_of,
)


class UndertakingRequired(exceptions.PermissionDenied):
    default_detail = (
        "Accept the current confidentiality undertaking before using the system "
        "(GET /api/v1/undertaking/, then POST /api/v1/undertaking/accept/)."
    )
    default_code = "undertaking_not_accepted"


class SecondFactorPending(exceptions.NotAuthenticated):
    default_detail = _(
        "This session has not passed the second factor: enter the code from your "
        "authenticator app on the sign-in page, or sign in at /api/v1/auth/token/ with it."
    )
    default_code = "otp_required"


class NoStaffProfile(exceptions.PermissionDenied):
    default_detail = "This account is not an active staff member of any operator."
    default_code = "not_staff"


class RoleNotAllowed(exceptions.PermissionDenied):
    default_detail = "Your role does not allow this."
    default_code = "role_not_allowed"


class IsActiveStaff(permissions.BasePermission):
    """Default for every API view. Views that must work before the undertaking
    is accepted set ``undertaking_exempt = True``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if session_unverified(user) and second_factor_required(user):
            raise SecondFactorPending()
        if not is_platform_admin(user) and staff_of(user) is None:
            raise NoStaffProfile()
        if not getattr(view, "undertaking_exempt", False) and undertaking_pending(user):
            raise UndertakingRequired()
        required = getattr(view, "required_permission_by_method", {}).get(
            request.method, getattr(view, "required_permission", None)
        )
        if required and not can(user, required):
            raise RoleNotAllowed()
        return True
