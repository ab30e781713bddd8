"""Pages and console: a signed-in person who is not an active staff member is
refused, and one who has not accepted the current confidentiality undertaking
is sent to read and accept it before any other page works. Before either, a
privileged role's session that has not passed the second factor reaches only
the code step. The API enforces the same rules in
:class:`operators.permissions.IsActiveStaff`."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode

from .selectors import undertaking_pending
from .services import staff_language_set
from .tenancy import is_platform_admin, second_factor_required, session_unverified, staff_of
from .timezones import operator_time_zone_activate

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
        second_factor_url = reverse("operators:second-factor")
        if session_unverified(user) and second_factor_required(user):
            if path == second_factor_url:
                return self.get_response(request)
            next_url = request.get_full_path()
            return redirect(f"{second_factor_url}?{urlencode({'next': next_url})}")
        if not is_platform_admin(user) and staff_of(user) is None:
            logout(request)
            return render(request, "operators/not_staff.html", status=403)
        undertaking_url = reverse("operators:undertaking")
        if path != undertaking_url and undertaking_pending(user):
            return redirect(f"{undertaking_url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


# Not staff pages: the API answers in the request's language (Accept-Language),
# the subscriber pages in the subscriber's (reverification), files have none.
_LANGUAGE_EXEMPT_PREFIXES = (
    "/api/",
    "/static/",
    "/healthz",
    "/readyz",
    "/r/",
    "/my-lines/",
    "/receipt-check/",
)


def is_staff_surface(path: str) -> bool:
    """Whether ``path`` is a staff page or the console (what the staff
    language and its switch apply to)."""
    return not path.startswith(_LANGUAGE_EXEMPT_PREFIXES)


class StaffLanguageMiddleware:
    """Staff pages and the console in the signed-in staff member's language:
    their own choice, else their operator's staff language. Anyone else gets
    what LocaleMiddleware chose (the language cookie, Accept-Language, else
    LANGUAGE_CODE).

    A staff member's use of the language switch (Django's ``set_language``)
    is saved as their choice, so it follows them to any browser."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_staff_surface(request.path):
            return self.get_response(request)
        staff = staff_of(getattr(request, "user", None))
        if staff is None:
            return self.get_response(request)
        if request.method == "POST" and request.path == reverse("set_language"):
            response = self.get_response(request)
            language = request.POST.get("language", "")
            # set_language sets its cookie only for a language it accepted.
            if settings.LANGUAGE_COOKIE_NAME in response.cookies:
                staff_language_set(staff=staff, language=language, actor=request.user)
            return response
        language = staff.effective_language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class OperatorTimeZoneMiddleware:
    """Staff pages and the console show times in the staff member's operator's
    time zone (``Operator.time_zone``); everything else starts in the site's
    TIME_ZONE, and a subscriber page switches to its link's operator itself
    (:func:`operators.timezones.operator_time_zone_activate`). The API keeps
    the site's zone: its times carry their offset anyway.

    The zone is a thread-local: it is reset after every response, so no
    request inherits the previous one's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        if is_staff_surface(request.path):
            staff = staff_of(getattr(request, "user", None))
            if staff is not None:
                operator_time_zone_activate(staff.operator)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
