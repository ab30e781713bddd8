"""gunicorn's logger with the application's redaction (identity.logging).

gunicorn writes its access log itself, outside Django's logging: a request
line such as ``GET /api/v1/lines/+8613800138000/`` or ``GET /r/<token>``
would land in it as sent. This logger class runs every atom of the access-log
format (request line, path, query, referrer, headers) through the same
redaction as the application log, and filters both of gunicorn's loggers.
Used by the production command: ``gunicorn --logger-class
config.gunicorn_logging.RedactingLogger`` (deploy/Procfile)."""

from __future__ import annotations

from gunicorn import glogging

from identity.logging import RedactPersonalData, redact


class RedactingLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactPersonalData) for f in log.filters):
                log.addFilter(RedactPersonalData())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(v) if isinstance(v, str) else v for key, v in atoms.items()}
