"""Error reports that show no personal data, with DEBUG on or off.

Django's technical 500 page (DEBUG on) and the error e-mails (DEBUG off) show
each frame's local variables, the request's GET and POST, the URL and the
exception's message. Django's own filter steps aside when DEBUG is on
(``SafeExceptionReporterFilter.is_active``), so a ``sensitive_variables``
marking then hides nothing; and a DRF view's JSON body is never in ``POST``
but in the locals of every serializer and service frame beneath it (the
corrections API once showed a person's decrypted record to a clerk).

So here, always:

* every POST value and every GET value is hidden (their names stay);
* a frame's variables are shown only when harmless scalars (numbers, booleans,
  None): text, dates, dicts, lists, requests, serializers and model instances
  are hidden, whatever the variable's name, in every frame;
* the URL, the query string, the path and the exception's message pass the
  log redaction (document numbers, phone numbers, e-mail addresses), and the
  Unicode hint (input around a decoding error) is dropped.

What stays is what a developer needs first: the exception type, the file,
line and code of every frame, the settings (secrets hidden).
"""

from __future__ import annotations

import decimal
import re

from django.views.debug import ExceptionReporter

from identity.logging import PersonalDataReporterFilter as _LoggingFilter
from identity.logging import redact

_HARMLESS = (bool, int, float, decimal.Decimal, type(None))
_QUERY = re.compile(r"\?.*$", re.DOTALL)


class PersonalDataReporterFilter(_LoggingFilter):
    """Active with DEBUG on too; hides request data and frame variables."""

    def is_active(self, request) -> bool:
        return True

    def get_post_parameters(self, request):
        if request is None:
            return {}
        params = request.POST.copy()
        for key in params:
            params.setlist(key, [self.cleansed_substitute])
        return params

    def get_cleansed_multivaluedict(self, request, multivaluedict):
        cleansed = multivaluedict.copy()
        for key in cleansed:
            cleansed.setlist(key, [self.cleansed_substitute])
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, value if isinstance(value, _HARMLESS) else self.cleansed_substitute)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for key in ("QUERY_STRING", "HTTP_REFERER"):
            if meta.get(key):
                meta[key] = self.cleansed_substitute
        for key in ("PATH_INFO", "REQUEST_URI", "RAW_URI", "SCRIPT_URL"):
            if isinstance(meta.get(key), str):
                meta[key] = redact(_QUERY.sub("", meta[key]))
        return meta


class _RequestSummary:
    """What the technical 500 templates read of the request, path redacted."""

    def __init__(self, request) -> None:
        self.path_info = redact(request.path_info)
        self.META = {"REQUEST_METHOD": request.META.get("REQUEST_METHOD", "")}
        self.GET = bool(request.GET)
        self.FILES = bool(request.FILES)
        self.COOKIES = bool(request.COOKIES)


class PersonalDataExceptionReporter(ExceptionReporter):
    """Django's reporter, with the parts the filter cannot reach redacted."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        hidden = self.filter.cleansed_substitute
        data["unicode_hint"] = ""
        if "exception_value" in data:
            data["exception_value"] = redact(data["exception_value"])
        if "exception_notes" in data:
            data["exception_notes"] = redact(data["exception_notes"])
        if "request_GET_items" in data:
            data["request_GET_items"] = [(key, hidden) for key in self.request.GET]
        if self.request is not None:
            data["request"] = _RequestSummary(self.request)
        if "request_insecure_uri" in data:
            data["request_insecure_uri"] = redact(_QUERY.sub("", data["request_insecure_uri"]))
        return data
