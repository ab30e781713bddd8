"""Keeps personal data out of log records and error reports.

Names cannot be recognised by pattern, so the first defence is that code never
logs them (identity types hide their fields in ``repr``; services log ids and
outcomes only). This filter is the second: it redacts anything shaped like an
identity document number, a telephone number, an e-mail address or a notice
link's token from the message, its arguments and any attached exception text.
gunicorn's access and error logs pass the same filter
(:mod:`config.gunicorn_logging`)."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

_PATTERNS = [
    # Resident ID, residence permit, new foreign permanent residence (18) and
    # old 15-character forms; passports and travel permits (letter + digits).
    re.compile(r"(?<![A-Za-z0-9])\d{17}[\dXx](?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])[A-Z]{3}\d{12}(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])\d{15}(?![A-Za-z0-9])"),
    re.compile(r"(?<![A-Za-z0-9])[EGHMDSPegh][A-Za-z]?\d{7,10}(?![A-Za-z0-9])"),
    # Secrets in a path: the signed token of a notice's link (/r/<token>), so a
    # request line, a referrer or a "Not Found: /r/…" record never carries it.
    re.compile(r"(?<=/r/)[^/?#&\s\"']+"),
    # A line's number in a path or a query, however written (/lines/0106…/,
    # ?number=…), and a console search term (?q=…, also inside the encoded
    # _changelist_filters): a name cannot be recognised, so the term goes whole.
    re.compile(r"(?<=/lines/)[^/?#&\s\"']+"),
    re.compile(r"(?<=[?&]number=)[^&#\s\"']+"),
    re.compile(r"(?<=[?&]q=)[^&#\s\"']+"),
    re.compile(r"(?<=q%3[Dd])(?:(?!%26)[^&#\s\"'])+"),
    # Telephone numbers: E.164 (also percent-encoded, as in a raw request line or
    # a query string: %2B86…) and long national digit runs.
    re.compile(r"\+\d{8,15}"),
    re.compile(r"%2[Bb]\d{8,15}"),
    re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d])"),
    # E-mail addresses.
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc)
            if redact(text) != text:
                # Keep the type and traceback, drop the message that carried data.
                record.exc_text = None
                replacement = RuntimeError(f"{type(exc).__name__}: {REDACTED}")
                record.exc_info = (RuntimeError, replacement, record.exc_info[2])
        return True


# Error reports (Django's technical 500 page, AdminEmailHandler) hide these
# request fields and local variables as they hide passwords.
try:
    from django.views.debug import SafeExceptionReporterFilter
except ImportError:  # pragma: no cover - Django is always installed here
    SafeExceptionReporterFilter = object  # type: ignore[misc,assignment]


class PersonalDataReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|TELEREG_KEYS|INDEX_KEY", flags=re.I
    )
    _personal = re.compile(
        r"^(name|id_number|date_of_birth|address|installation_address|identity|"
        r"applicant|holder|new_holder|values|fields|block)$",
        flags=re.I,
    )

    def get_post_parameters(self, request):
        params = super().get_post_parameters(request)
        if params:
            params = params.copy()
            for key in list(params):
                if self._personal.match(key.split(".")[-1]) or "id_number" in key:
                    params[key] = self.cleansed_substitute
        return params

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if self._personal.match(name) else value)
            for name, value in variables
        ]
