"""Lines under my ID: a code to one of my lines, then the list, then disputes."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from operators.roles import Role
from registration.models import (
    Dispute,
    LineStatus,
    MyLinesChallenge,
    RequestState,
    ReverificationRequest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


def start(client, identity, operator="alpha", name=None):
    return client.post(
        "/my-lines/",
        {
            "step": "start",
            "operator": operator,
            "id_type": identity.id_type,
            "id_number": identity.id_number,
            "name": name or identity.name,
        },
    )


def last_code(outbox) -> str:
    message = json.loads(outbox.read_text().splitlines()[-1])
    return re.search(r"\d{6}", message["text"]).group(0)


def test_known_and_unknown_documents_get_the_same_answer(client, open_mobile, citizen, outbox):
    _, holder = open_mobile()
    known = start(client, holder).content.decode()
    unknown = start(client, citizen()).content.decode()
    wrong_name = start(client, holder, name="Someone Else").content.decode()
    strip = lambda body: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)  # noqa: E731
    assert strip(known) == strip(unknown) == strip(wrong_name)
    assert 'id="sent"' in known
    assert len(outbox.read_text().splitlines()) == 1  # only the known holder got a code


def test_an_invalid_lookup_form_is_400_with_the_field(client, alpha, outbox):
    response = client.post("/my-lines/", {"step": "start", "operator": "alpha"})
    assert response.status_code == 400
    assert "id_number" in response.context["start_form"].errors


def test_the_code_shows_my_lines_masked_and_i_report_one(client, open_mobile, outbox):
    tx, holder = open_mobile()
    open_mobile(holder)
    start(client, holder)
    body = client.post("/my-lines/", {"step": "code", "code": last_code(outbox)}).content.decode()
    assert 'id="my-lines"' in body
    assert tx.line.number not in body
    assert tx.line.number[-4:] in body
    line_uid = str(tx.line.uid)
    client.post("/my-lines/", {"step": "report", "line": line_uid})
    client.post("/my-lines/", {"step": "report", "line": line_uid})
    assert Dispute.objects.filter(line=tx.line).count() == 1


def test_wrong_codes_are_limited(client, open_mobile, outbox):
    _, holder = open_mobile()
    start(client, holder)
    for _ in range(5):
        assert client.post("/my-lines/", {"step": "code", "code": "000000"}).status_code == 400
    code = last_code(outbox)
    response = client.post("/my-lines/", {"step": "code", "code": code})
    assert 'id="my-lines"' not in response.content.decode()
    assert MyLinesChallenge.objects.get().verified_at is None


def test_starting_lookups_is_throttled_per_address(client, alpha, citizen, outbox):
    identity = citizen()
    codes = [start(client, identity).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429


def test_compliance_suspends_a_disputed_line_and_opens_a_reverification(
    client, open_mobile, outbox, alpha, make_staff, web_client_for
):
    tx, holder = open_mobile()
    start(client, holder)
    client.post("/my-lines/", {"step": "code", "code": last_code(outbox)})
    client.post("/my-lines/", {"step": "report", "line": str(tx.line.uid)})
    dispute = Dispute.objects.get()
    officer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    officer.post(
        reverse("console:registration_dispute_changelist"),
        {"action": "suspend_and_reverify", "_selected_action": [dispute.pk]},
    )
    dispute.refresh_from_db()
    assert dispute.state == "suspended"
    tx.line.refresh_from_db()
    assert tx.line.status == LineStatus.SUSPENDED
    assert ReverificationRequest.objects.get(line=tx.line).state == RequestState.PENDING
