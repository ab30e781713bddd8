"""Refuses NUL characters wherever a request carries text, before any view or
query sees it.

PostgreSQL refuses NUL (U+0000) in text: a ``?operator=%00`` that reaches a
filter, a path segment ``/lines/%00/`` that reaches a look-up, a session cookie
``"\\000…"`` (cookie octal escapes decode to NUL) that reaches the session
table, all raised inside the database driver, a 500. No legitimate request
carries NUL, so one check here answers 400 naming the parameter; JSON bodies
are checked by :mod:`config.parsers`, form fields by Django's own
``ProhibitNullCharactersValidator`` and, for forms, here too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from config.api import error_body
from config.parsers import NUL_REASON

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _safe(name: str) -> str:
    return name.replace("\x00", "\ufffd")


def _with_nul(prefix: str, items: Iterable[tuple[str, list[str]]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, values in items:
        if "\x00" in key or any("\x00" in value for value in values):
            found[f"{prefix}{_safe(key)}"] = [str(NUL_REASON)]
    return found


class RejectNulMiddleware:
    """400 for NUL in the path, a query parameter, a header or a form field;
    a cookie holding NUL is dropped (as if the browser had not sent it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = self.problems(request)
        if fields:
            return self.refuse(request, fields)
        for name in [n for n, v in request.COOKIES.items() if "\x00" in n or "\x00" in v]:
            del request.COOKIES[name]
        return self.get_response(request)

    @staticmethod
    def problems(request: HttpRequest) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        if "\x00" in request.path_info:
            fields["path"] = [str(NUL_REASON)]
        fields.update(_with_nul("", request.GET.lists()))
        headers = (
            (f"{key[5:].replace('_', '-').title()}", [value])
            for key, value in request.META.items()
            if key.startswith("HTTP_") and isinstance(value, str) and key != "HTTP_COOKIE"
        )
        fields.update(_with_nul("header:", headers))
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            for name, reasons in _with_nul("", request.POST.lists()).items():
                fields.setdefault(name, reasons)
        return fields

    @staticmethod
    def refuse(request: HttpRequest, fields: dict[str, list[str]]) -> HttpResponse:
        message = _("The request contains a null character (NUL); nothing was done.")
        if _is_api(request):
            return JsonResponse(error_body("invalid", message, fields), status=400)
        return render(request, "400.html", {"message": message}, status=400)
