"""Pages and console: a signed-in person who is not an active staff member is
refused, and one who has not accepted the current confidentiality undertaking
is sent to read and accept it before any other page works. The API enforces
the same rule in :class:`operators.permissions.IsActiveStaff`."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from .selectors import undertaking_pending
from .tenancy import is_platform_admin, staff_of

# Paths that work before the undertaking is accepted.
_EXEMPT_PREFIXES = (
    "/api/",
    "/static/",
    "/healthz",
    "/readyz",
    "/favicon.ico",
    "/privacy-notice/",
)


class StaffGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        path = request.path
        if user is None or not user.is_authenticated or path.startswith(_EXEMPT_PREFIXES):
            return self.get_response(request)
        exempt = {reverse("operators:login"), reverse("operators:logout")}
        if path in exempt:
            return self.get_response(request)
        if not is_platform_admin(user) and staff_of(user) is None:
            logout(request)
            return render(request, "operators/not_staff.html", status=403)
        undertaking_url = reverse("operators:undertaking")
        if path != undertaking_url and undertaking_pending(user):
            return redirect(f"{undertaking_url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
