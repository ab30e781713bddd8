"""No document number, name or phone number in a console URL.

A URL is copied into browser history, proxies' and gunicorn's access logs,
``Referer`` headers and the console's own links (``_changelist_filters``
carries the changelist's query into every change page). So the console finds
persons and lines by document or number only through a POST form (the "find"
views of PersonAdmin and LineAdmin, which count and log the look-up), and:

- :class:`ConsoleQueryGuard` (middleware) redirects any console GET whose
  query holds a value shaped like personal data (the application log's
  redaction patterns, or a search term written like a number of seven digits
  or more) to the same
  page without it, nested ``_changelist_filters`` included;
- :class:`UidSearchOnlyMixin` lets the Person and Line changelists search by
  their id (a UUID) alone, since a name cannot be recognised by its shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy

from .logging import redact

FILTERS = "_changelist_filters"
SEARCH_DIGITS = 7
# A term written like a phone number: digits and the separators people type.
_NUMBER_LIKE = re.compile(r"[\d\s\-+().]+")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value.strip())
    except ValueError:
        return False
    return True


def personal_shaped(key: str, value: str) -> bool:
    """Whether a query value may be a document number, a phone number or an
    e-mail address (search terms: a number of seven digits or more, however written)."""
    if _is_uuid(value):
        return False
    if redact(value) != value:
        return True
    if key == "q" and _NUMBER_LIKE.fullmatch(value.strip()):
        return sum(ch.isdigit() for ch in value) >= SEARCH_DIGITS
    return False


def strip_personal(query: QueryDict) -> tuple[QueryDict, bool]:
    """The query without personal-shaped values, and whether any was dropped."""
    cleaned = QueryDict(mutable=True)
    dropped = False
    for key, values in query.lists():
        for value in values:
            if key == FILTERS:
                inner, inner_dropped = strip_personal(QueryDict(value))
                dropped = dropped or inner_dropped
                if inner:
                    cleaned.appendlist(key, inner.urlencode())
            elif personal_shaped(key, value):
                dropped = True
            else:
                cleaned.appendlist(key, value)
    return cleaned, dropped


def _redirect_without(request: HttpRequest, query: QueryDict, note: str) -> HttpResponse:
    messages.warning(request, note)
    target = request.path + (f"?{query.urlencode()}" if query else "")
    return HttpResponseRedirect(target)


class ConsoleQueryGuard:
    """Middleware: console GETs never keep personal-shaped query values."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and request.GET:
            if self._prefix is None:
                self._prefix = reverse("console:index")
            if request.path.startswith(self._prefix):
                cleaned, dropped = strip_personal(request.GET)
                if dropped:
                    return _redirect_without(
                        request,
                        cleaned,
                        gettext(
                            "Document numbers, phone numbers and names are not accepted in a "
                            "web address. Use the “Find” form: it looks them up without "
                            "putting them in the address, and records the look-up."
                        ),
                    )
        return self.get_response(request)


class UidSearchOnlyMixin:
    """A changelist searched by the row's id (``uid``) only: any other term is
    removed from the address before the page is shown."""

    search_fields = ["=uid"]
    search_help_text = gettext_lazy(
        "An id (exact). To find by document or number, use “Find” above (logged)."
    )
    change_list_template = "identity/admin/change_list_find.html"
    find_url_name = ""  # the admin's POST "find" view
    find_label = ""

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        if self.find_url_name:
            extra_context = {
                **(extra_context or {}),
                "find_url": reverse(self.find_url_name),
                "find_label": self.find_label,
            }
        term = request.GET.get("q", "")
        if term and not _is_uuid(term):
            query = request.GET.copy()
            del query["q"]
            return _redirect_without(
                request,
                query,
                gettext("Search here by id only. Use “Find” to look up by document or number."),
            )
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request: HttpRequest, queryset, search_term: str):
        term = search_term.strip()
        if not term:
            return queryset, False
        if not _is_uuid(term):
            return queryset.none(), False
        return queryset.filter(uid=uuid.UUID(term)), False
