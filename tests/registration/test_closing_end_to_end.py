"""A line's whole life through the API, on PostgreSQL, with a controlled
clock: opened, closed, its number rested and given back, its holder's data
crypto-shredded when the retention term has run from the last line's
closing — and what is kept (the access log, the non-personal records)."""

from __future__ import annotations

import datetime as dt
import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from identity import vault
from identity.errors import PersonShredded
from identity.models import ENCRYPTED_FIELDS, AccessLogEntry, AccessPurpose, Consent, Person
from registration.models import (
    Line,
    LineClosure,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Transaction,
)
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

NUMBER = "+8613800138005"


def post_tx(client, body):
    return client.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )


def lookup(client, identity):
    return client.post(
        "/api/v1/persons/lookup/",
        {"id_type": identity.id_type, "id_number": identity.id_number},
        format="json",
    )


def test_open_close_rest_release_and_shred(
    alpha, alpha_clerk, alpha_compliance, api_client_for, citizen, consent, inventory, settings
):
    clerk = api_client_for(alpha_clerk)
    officer = api_client_for(alpha_compliance)
    identity = citizen()
    consent_block = {"notice": consent.notice_hash, "given": True}

    # Opened.
    opened = post_tx(
        clerk,
        {
            "kind": "mobile_open",
            "applicant": api_block(identity),
            "consent": consent_block,
            "number": NUMBER,
        },
    )
    assert opened.status_code == 201, opened.json()
    assert lookup(clerk, identity).status_code == 200

    # Closed by its holder at the counter.
    closed = post_tx(
        clerk,
        {
            "kind": "line_close",
            "line": NUMBER,
            "applicant": api_block(identity),
            "consent": consent_block,
        },
    )
    assert closed.status_code == 201, closed.json()
    closure = LineClosure.objects.get(line__number=NUMBER)
    person = Person.objects.get(pk=closure.line.holder_id)
    assert person.last_line_closed_at == closure.closed_at
    assert PhoneNumber.objects.get(number=NUMBER).status == NumberStatus.QUARANTINED
    shown = officer.get(f"/api/v1/lines/{NUMBER}/").json()
    assert shown["status"] == "closed"
    assert shown["close_reason"] == "holder_request"

    # The clock passes the quarantine: the number is available again.
    past_quarantine = closure.number_available_at + dt.timedelta(minutes=1)
    call_command("release_numbers", "--now", past_quarantine.isoformat(), stdout=StringIO())
    assert PhoneNumber.objects.get(number=NUMBER).status == NumberStatus.AVAILABLE
    available = clerk.get("/api/v1/numbers/available/", {"kind": "mobile", "pattern": "138005"})
    assert NUMBER in {row["number"] for row in available.json()["results"]}

    # Not yet past retention: nothing erased.
    out = StringIO()
    call_command("run_retention", "--now", past_quarantine.isoformat(), stdout=out)
    assert "erased 0 person(s)" in out.getvalue()

    # The clock passes the retention term: crypto-shredded.
    kept = {
        "transactions": Transaction.objects.filter(applicant=person).count(),
        "consents": Consent.objects.filter(person=person).count(),
        "log": AccessLogEntry.objects.filter(person=person).count(),
    }
    past_retention = closure.closed_at + dt.timedelta(days=alpha.retention_days + 1)
    out = StringIO()
    call_command("run_retention", "--now", past_retention.isoformat(), stdout=out)
    assert "erased 1 person(s)" in out.getvalue()
    person.refresh_from_db()
    assert person.is_shredded
    assert person.wrapped_key is None
    with pytest.raises(PersonShredded):
        vault.open_fields(person, list(ENCRYPTED_FIELDS))
    for name in ENCRYPTED_FIELDS:
        assert bytes(getattr(person, f"{name}_enc") or b"") == b""
    # Kept: the access log (and its retention entry), the non-personal records.
    assert Transaction.objects.filter(applicant=person).count() == kept["transactions"]
    assert Consent.objects.filter(person=person).count() == kept["consents"]
    assert AccessLogEntry.objects.filter(person=person).count() == kept["log"] + 1
    assert AccessLogEntry.objects.filter(person=person, purpose=AccessPurpose.RETENTION).exists()
    assert Line.objects.get(pk=closure.line_id).status == LineStatus.CLOSED
    # Not found by document any more (the blind index went with the key).
    gone = lookup(clerk, identity)
    assert gone.status_code == 404
    assert identity.id_number not in gone.content.decode()

    # The number goes to another subscriber; it now names the new line.
    newcomer = citizen()
    reopened = post_tx(
        clerk,
        {
            "kind": "mobile_open",
            "applicant": api_block(newcomer),
            "consent": consent_block,
            "number": NUMBER,
        },
    )
    assert reopened.status_code == 201, reopened.json()
    assert officer.get(f"/api/v1/lines/{NUMBER}/").json()["status"] == "active"
    # The erased person, registering again, is a new person from scratch.
    again = post_tx(
        clerk, {"kind": "mobile_open", "applicant": api_block(identity), "consent": consent_block}
    )
    assert again.status_code == 201
    assert lookup(clerk, identity).json()["person"]["id"] != str(person.uid)
