"""``LOG_FORMAT=json`` (the default in production): one JSON object per log
record, for log collectors that read JSON lines.

Each object has ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``request_id`` (config.request_id; ``-`` outside a request), ``message`` and,
when there is one, ``exception`` (the traceback's text). The handler's filters
(the request id and identity.logging's redaction) run before the formatter, as
for the plain format; the formatter redacts the message and the traceback's
text once more, so a record that reached it around the filter carries no
personal data either."""

from __future__ import annotations

import datetime as dt
import json
import logging

from config.request_id import current_request_id
from identity.logging import redact


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "message": redact(message),
        }
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            payload["exception"] = redact(record.exc_text)
        if record.stack_info:
            payload["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(payload, ensure_ascii=False)
