"""No name or document number reaches any log record, whatever the level."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from identity import services
from identity.logging import RedactPersonalData, redact

pytestmark = pytest.mark.django_db


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _text(record: logging.LogRecord) -> str:
    parts = [record.getMessage()]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_identity_flows_log_no_personal_data(
    captured, citizen, make_identity, alpha, alpha_clerk, alpha_compliance, register, api_client_for
):
    identity = citizen(address="广东省广州市天河区样例路8号")
    services.identity_check(operator=alpha, identity=identity, actor=alpha_clerk.user)
    person = register(identity)
    services.person_reveal(person=person, actor=alpha_compliance.user, reason="log test reason")
    services.person_export(person=person, actor=alpha_compliance.user, reason="log test export")
    client = api_client_for(alpha_clerk)
    body = dataclasses.asdict(identity)
    body["date_of_birth"] = identity.date_of_birth.isoformat()
    body["id_expiry"] = identity.id_expiry.isoformat() if identity.id_expiry else None
    client.post("/api/v1/identity/check/", body, format="json")
    bad = {
        **body,
        "id_number": identity.id_number[:-1] + ("0" if identity.id_number[-1] != "0" else "1"),
    }
    client.post("/api/v1/identity/check/", bad, format="json")
    assert captured.records, "the flows should log something at DEBUG"
    for record in captured.records:
        text = _text(record)
        assert identity.name not in text
        assert identity.id_number not in text
        assert identity.id_number[:-1] not in text
        assert identity.address not in text


def test_filter_redacts_document_and_phone_shaped_values():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "holder %s called from %s",
        ("11010519900307124X", "+8613800138000"),
        None,
    )
    RedactPersonalData().filter(record)
    assert record.getMessage() == "holder [redacted] called from [redacted]"


def test_filter_redacts_exception_text_but_keeps_the_record():
    number = "".join(["110105", "19900307", "124X"])  # built at runtime: not in the source line
    try:
        raise ValueError(f"bad number {number}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactPersonalData().filter(record)
    text = logging.Formatter().formatException(record.exc_info)
    assert number not in text
    assert "ValueError" in text


def test_redact_leaves_ordinary_text_alone():
    assert redact("store bj-chaoyang accepted 5 lines") == "store bj-chaoyang accepted 5 lines"
