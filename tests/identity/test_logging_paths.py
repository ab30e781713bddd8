"""Paths in every log pass the application's redaction: gunicorn's access and
error logs, Django's request and server loggers. No phone number, document
number or notice-link token survives in a logged request line."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from config.gunicorn_logging import RedactingLogger
from identity.logging import redact

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "+8613800138000"
TOKEN = "42.AbCdEf0123456789-_xyzSIGNATURE"
DOCUMENT = "110105199003071247"
FORMAT = '%(h)s %(t)s "%(r)s" %(s)s "%(f)s" %(U)s ?%(q)s %({referer}i)s'


def _request(path: str, query: str = "", referer: str = "-"):
    raw = path + (f"?{query}" if query else "")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw.replace("+", "%2B"),
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_REFERER": referer,
    }
    resp = SimpleNamespace(status="404 Not Found", sent=12, headers=[])
    req = SimpleNamespace(headers=[("REFERER", referer)])
    return resp, req, environ, dt.timedelta(microseconds=1500)


def _access_lines(logger_class, tmp_path: Path, *requests) -> str:
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set("access_log_format", FORMAT)
    logger = logger_class(cfg)
    for request in requests:
        logger.access(*request)
    for handler in logger.access_log.handlers:
        handler.flush()
    return log_file.read_text()


REQUESTS = [
    _request(f"/api/v1/lines/{NUMBER}/"),
    _request("/api/v1/lines/", query=f"number={NUMBER}"),
    _request("/api/v1/lines/01062345678/"),
    _request(f"/r/{TOKEN}"),
    _request("/static/css/telereg.css", referer=f"https://telereg.example/r/{TOKEN}"),
    _request("/console/identity/person/", query=f"q={DOCUMENT}"),
]


def test_gunicorns_own_logger_would_write_numbers_and_tokens(tmp_path):
    """The finding, reproduced: the reason the redacting logger exists."""
    text = _access_lines(glogging.Logger, tmp_path, *REQUESTS)
    assert NUMBER in text
    assert TOKEN in text


def test_the_redacting_logger_writes_no_number_token_or_document(tmp_path):
    text = _access_lines(RedactingLogger, tmp_path, *REQUESTS)
    lines = text.splitlines()
    assert len(lines) == len(REQUESTS)
    for secret in (NUMBER, NUMBER[1:], "13800138000", "01062345678", TOKEN, DOCUMENT):
        assert secret not in text
    assert "[redacted]" in lines[0]
    assert '"GET /r/[redacted] HTTP/1.1" 404' in lines[3]
    assert "/static/css/telereg.css" in lines[4]  # the rest of the line is kept


def test_the_redacting_logger_filters_gunicorns_error_log(tmp_path):
    log_file = tmp_path / "error.log"
    cfg = Config()
    cfg.set("errorlog", str(log_file))
    logger = RedactingLogger(cfg)
    logger.error("Invalid request from ip=127.0.0.1: %s", f"GET /r/{TOKEN} {NUMBER}")
    for handler in logger.error_log.handlers:
        handler.flush()
    text = log_file.read_text()
    assert "Invalid request" in text
    assert TOKEN not in text
    assert NUMBER not in text


def test_the_production_command_and_a_bare_gunicorn_use_the_redacting_logger():
    procfile = (ROOT / "deploy" / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert "--logger-class config.gunicorn_logging.RedactingLogger" in web
    cfg = Config()
    namespace: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 - our own file
    cfg.set("logger_class", namespace["logger_class"])
    assert cfg.logger_class is RedactingLogger


@pytest.mark.parametrize(
    "text",
    [
        f"/r/{TOKEN}",
        f"/r/{TOKEN}?lang=en",
        f"Referer: https://x.example/r/{TOKEN}",
        f"/api/v1/lines/%2B{NUMBER[1:]}/",
        "/api/v1/lines/?number=010-6234-5678",
        "/console/identity/person/?q=%E5%BC%A0%E4%B8%89",
        "/console/identity/person/1/change/?_changelist_filters=q%3D%E5%BC%A0%E4%B8%89%26id_type",
    ],
)
def test_redaction_covers_tokens_and_numbers_in_paths(text):
    cleaned = redact(text)
    assert TOKEN not in cleaned
    assert NUMBER[1:] not in cleaned
    assert "6234" not in cleaned
    assert "%E5%BC%A0" not in cleaned
    assert "[redacted]" in cleaned


@pytest.fixture
def django_log():
    """What the configured console handler of the named logger writes."""
    streams = []

    def capture(name: str) -> io.StringIO:
        stream = io.StringIO()
        for handler in logging.getLogger(name).handlers:
            # The handlers settings.LOGGING (or Django's defaults) configured,
            # not the ones pytest adds to capture records.
            if type(handler) is logging.StreamHandler or handler.name == "django.server":
                streams.append((handler, handler.setStream(stream)))
        assert streams, f"{name} has no stream handler"
        return stream

    yield capture
    for handler, old in streams:
        handler.setStream(old)


def test_djangos_404_record_for_a_line_path_carries_no_number(
    django_log, alpha_clerk, api_client_for
):
    stream = django_log("django.request")
    api = api_client_for(alpha_clerk)
    assert api.get(f"/api/v1/lines/{NUMBER}/").status_code == 404
    assert api.get("/api/v1/lines/01062345678/").status_code == 404  # national form
    text = stream.getvalue()
    assert text.count("Not Found") == 2
    assert "13800138000" not in text
    assert "62345678" not in text


def test_djangos_404_record_for_a_notice_link_carries_no_token(django_log, client):
    stream = django_log("django.request")
    assert client.get(f"/r/{TOKEN}").status_code == 404
    text = stream.getvalue()
    assert "Not Found" in text
    assert TOKEN not in text


def test_runservers_request_lines_are_redacted(django_log):
    stream = django_log("django.server")
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /r/{TOKEN} HTTP/1.1", "404", "179")
    text = stream.getvalue()
    assert "/r/[redacted]" in text
    assert TOKEN not in text
