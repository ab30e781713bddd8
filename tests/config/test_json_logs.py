"""LOG_FORMAT=json (production's default): one JSON object per record, with
the request id, and the same redaction as the plain format."""

from __future__ import annotations

import io
import json
import logging

from config.log_format import JsonFormatter
from config.request_id import RequestIdFilter, _request_id
from identity.logging import RedactPersonalData
from tests.config.test_production_settings import production_env, run_production

PHONE = "+8613800138000"
NATIONAL = "13912345678"
DOCUMENT = "11010519900101123X"

LOG_IN_PRODUCTION = f"""
import django, logging
django.setup()
log = logging.getLogger("telereg.test")
log.warning("code sent to %s for document {DOCUMENT}", "{PHONE}")
log.info("national number {NATIONAL} and e-mail someone@example.test")
try:
    raise ValueError("bad number {PHONE}")
except ValueError:
    log.exception("failed")
"""

WSGI_404 = f"""
import io, sys
from config.wsgi import application
environ = {{
    "REQUEST_METHOD": "GET", "PATH_INFO": "/no-such-page/{PHONE}/", "QUERY_STRING": "",
    "SERVER_NAME": "telereg.example.test", "SERVER_PORT": "443", "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "telereg.example.test", "HTTP_X_REQUEST_ID": "req-json-test-0001",
    "HTTP_X_FORWARDED_PROTO": "https", "REMOTE_ADDR": "10.0.0.2", "wsgi.version": (1, 0),
    "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
    "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
}}
status = []
b"".join(application(environ, lambda s, h, e=None: status.append(s)))
print(status[0])
"""


def _json_lines(stderr: str) -> list[dict]:
    records = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def test_production_logs_one_json_object_per_record_with_personal_data_redacted():
    result = run_production(production_env(), "-c", LOG_IN_PRODUCTION)
    assert result.returncode == 0, result.stderr
    records = _json_lines(result.stderr)
    ours = [r for r in records if r["logger"] == "telereg.test"]
    assert [r["level"] for r in ours] == ["WARNING", "INFO", "ERROR"]
    for record in ours:
        assert set(record) >= {"time", "level", "logger", "request_id", "message"}
        assert record["request_id"] == "-"  # outside a request
    assert ours[0]["message"] == "code sent to [redacted] for document [redacted]"
    assert ours[1]["message"] == "national number [redacted] and e-mail [redacted]"
    assert "Traceback" in ours[2]["exception"]
    for secret in (PHONE, NATIONAL, DOCUMENT, "someone@example.test", "8613800138000"):
        assert secret not in result.stderr


def test_a_request_log_carries_its_request_id_and_no_number_from_the_path():
    result = run_production(
        {**production_env(), "REDIS_URL": "redis://127.0.0.1:1/0"}, "-c", WSGI_404
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("404")
    records = [r for r in _json_lines(result.stderr) if r["logger"] == "django.request"]
    assert records, result.stderr
    assert records[0]["request_id"] == "req-json-test-0001"
    assert records[0]["message"].startswith("Not Found: /no-such-page/")
    assert PHONE not in result.stderr
    assert "%2B86" not in result.stderr


def test_plain_stays_available_in_production():
    env = {**production_env(), "LOG_FORMAT": "plain"}
    result = run_production(env, "-c", LOG_IN_PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert _json_lines(result.stderr) == []
    assert "code sent to [redacted] for document [redacted]" in result.stderr


def test_an_unknown_log_format_is_refused_naming_it():
    result = run_production({**production_env(), "LOG_FORMAT": "xml"}, "-c", LOG_IN_PRODUCTION)
    assert result.returncode != 0
    assert "LOG_FORMAT" in result.stderr.strip().splitlines()[-1]


def test_the_formatter_redacts_even_a_record_that_skipped_the_filter():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("telereg.test.formatter")
    logger.propagate = False
    logger.addHandler(handler)
    token = _request_id.set("req-in-a-request-01")
    try:
        logger.warning("to %s", PHONE)
    finally:
        _request_id.reset(token)
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["message"] == "to [redacted]"
    assert record["request_id"] == "req-in-a-request-01"
    # And the plain filter path still holds beside it.
    assert RedactPersonalData().filter(logging.makeLogRecord({"msg": PHONE}))


CELERY_LOGGING = f"""
import django, logging
django.setup()
from celery.signals import setup_logging
from config.celery import app
# What a worker or beat does at start: a receiver of setup_logging keeps
# Celery from replacing the root handler with its own (unredacted, not JSON).
assert setup_logging.receivers, "no receiver"
app.log.setup(loglevel="INFO")
logging.getLogger("registration.tasks").warning("alert to %s", "{PHONE}")
"""


def test_worker_and_beat_log_json_with_the_same_redaction():
    result = run_production(production_env(), "-c", CELERY_LOGGING)
    assert result.returncode == 0, result.stderr
    records = [r for r in _json_lines(result.stderr) if r["logger"] == "registration.tasks"]
    assert [r["message"] for r in records] == ["alert to [redacted]"]
    assert PHONE not in result.stderr
