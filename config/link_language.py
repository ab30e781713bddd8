"""A public page opened from a link in a notice shows the notice's language.

The link names it (``?lang=en``); without one, LocaleMiddleware's choice
stands (the switch's cookie, then Accept-Language). Only the languages of
settings.LANGUAGES are taken; anything else is ignored, never echoed."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def link_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        language = request.GET.get("lang", "")
        if language not in {code for code, _name in settings.LANGUAGES}:
            return view(request, *args, **kwargs)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
        response.headers["Content-Language"] = language
        return response

    return wrapper
