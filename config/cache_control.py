"""``Cache-Control: no-store`` on every response that may carry personal data.

Masked or not, the API's answers, the store pages, the console and the
subscriber's pages hold data about people, and no browser, proxy or shared
tablet should keep a copy (OWASP ASVS 14.3.2). The simple sound rule: every
response is ``no-store`` unless its path is one of
``TELEREG_CACHEABLE_PATHS`` (the API schema and docs, static files, health).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.cacheable = tuple(settings.TELEREG_CACHEABLE_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.cacheable):
            patch_cache_control(response, no_store=True)
        return response
