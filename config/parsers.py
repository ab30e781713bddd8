"""The API's JSON parser: DRF's, refusing nesting too deep to decode.

Python's decoder raises RecursionError (not ValueError, which DRF turns into
a 400) on a body such as ``[[[[…]]]]`` nested some thousand levels deep, so
such a request would end in a 500; it is a 400 ``parse_error`` instead."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(gettext_lazy("JSON parse error - nested too deeply.")) from None
