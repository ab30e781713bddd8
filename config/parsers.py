"""The API's JSON parser: bounded before it is parsed, clean after.

DRF's own ``JSONParser`` hands the stream to :func:`json.load`, which

* reads the whole body whatever its size (``DATA_UPLOAD_MAX_MEMORY_SIZE`` only
  guards ``request.body`` and form parsing, not a parser reading the stream);
* recurses once per level of nesting: 100,000 ``[`` raise ``RecursionError``,
  a 500;
* accepts ``"\\u0000"`` and lone surrogates (``"\\ud800"``) inside strings,
  which PostgreSQL refuses in text and ``jsonb`` and UTF-8 cannot encode: a 500
  wherever such a value reaches the database or a renderer.

This parser reads at most the upload limit, measures the nesting with one
linear scan (no recursion) before :func:`json.loads` sees the text, and walks
the parsed value iteratively to refuse NUL and surrogates, naming the field
(``applicant.name``) the way :func:`config.api._flatten` names validation
errors.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status
from rest_framework.utils import json

#: Deeper than any document of the API contract (the deepest is three levels).
MAX_DEPTH = 32

NUL_REASON = _("Null characters (NUL, U+0000) are not allowed.")
SURROGATE_REASON = _("Not valid Unicode text (a lone surrogate).")

# A JSON string (escapes included) or a bracket. Strings are matched whole so
# that brackets inside them are not counted; the unrolled form is linear.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_SURROGATES = re.compile("[\ud800-\udfff]")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("The request body is larger than this server accepts.")


def nesting_depth(text: str, limit: int) -> int:
    """The deepest nesting of arrays and objects in ``text``, counted without
    recursion; stops early (returning more than ``limit``) once past it."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif bracket in "]}":
            depth -= 1
    return deepest


def text_problems(data: Any) -> dict[str, list[str]]:
    """Every string (value or key) holding NUL or a lone surrogate, by field path."""
    problems: dict[str, list[str]] = {}
    stack: list[tuple[str, Any]] = [("", data)]

    def report(path: str, text: str) -> None:
        reason = NUL_REASON if "\x00" in text else SURROGATE_REASON
        reasons = problems.setdefault(path or "non_field_errors", [])
        if str(reason) not in reasons:
            reasons.append(str(reason))

    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or _SURROGATES.search(value):
                report(path, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key or _SURROGATES.search(key):
                    # A bad key is named by the object holding it (or the body):
                    # what was typed is never echoed back.
                    report(path or "body", key)
                    stack.append((path, item))
                    continue
                stack.append((f"{path}.{key}" if path else key, item))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((f"{path}.{index}" if path else str(index), item))
    return dict(sorted(problems.items()))


def _finite_float(text: str) -> float:
    # ``1e999`` parses as infinity, which no renderer may write back (allow_nan=False).
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size bound, a depth bound and clean strings."""

    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            raw = b""
        elif limit is None:
            raw = stream.read()
        else:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise RequestTooLarge()
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise exceptions.ParseError(_("The body is not valid UTF-8 text.")) from None
        if nesting_depth(text, self.max_depth) > self.max_depth:
            raise exceptions.ParseError(
                _("JSON nested deeper than %(depth)d levels.") % {"depth": self.max_depth}
            )
        try:
            data = json.loads(
                text,
                parse_constant=json.strict_constant if self.strict else None,
                parse_float=_finite_float,
            )
        except (ValueError, RecursionError) as exc:
            # The message names a position, never the content.
            raise exceptions.ParseError(
                _("JSON parse error - %(reason)s") % {"reason": exc}
            ) from None
        problems = text_problems(data)
        if problems:
            raise exceptions.ValidationError(problems)
        return data
