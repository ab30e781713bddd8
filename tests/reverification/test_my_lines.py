"""Lines under my ID: a code to one of my lines, then the list, then disputes."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from operators.roles import Role
from registration.models import LineStatus
from reverification.models import Dispute, MyLinesChallenge, RequestState, ReverificationRequest

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
    sent_to = re.compile(r'<strong id="sent-to">([^<]*)</strong>')
    # The code page names a masked number; for an unknown document or name it
    # is a decoy of the same shape, so only the number differs.
    shapes = {re.sub(r"\d", "9", sent_to.search(body).group(1)) for body in (known, unknown)}
    assert shapes == {"999 **** 9999"}  # 138 **** 8000 (grouped for reading): 3 shown, 4 shown
    assert sent_to.search(wrong_name).group(1) != sent_to.search(known).group(1)

    def strip(body: str) -> str:
        body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
        return sent_to.sub("", body)

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
    report = {"step": "report", "line": line_uid, "reason": "never_registered"}
    client.post("/my-lines/", report)
    client.post("/my-lines/", report)
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
    codes = [start(client, citizen()).status_code for _ in range(11)]
    assert codes[:10] == [200] * 10
    assert codes[10] == 429


def test_one_document_is_limited_whatever_the_address(
    settings, client, open_mobile, citizen, outbox
):
    _, holder = open_mobile()
    settings.TELEREG_MY_LINES_DOCUMENT_LIMIT = 3
    addresses = [f"127.0.0.{n}" for n in range(2, 7)]
    codes = [
        client.post(
            "/my-lines/",
            {
                "step": "start",
                "operator": "alpha",
                "id_type": holder.id_type,
                "id_number": holder.id_number,
                "name": f"Guess Number{n}",
            },
            REMOTE_ADDR=address,
        ).status_code
        for n, address in enumerate(addresses)
    ]
    assert codes == [200, 200, 200, 429, 429]
    # Another document from the same address is still answered.
    assert start(client, citizen()).status_code == 200


def test_the_limit_counts_in_the_database_shared_by_every_process(client, alpha, citizen, outbox):
    from django.core.cache import cache

    for _ in range(10):
        start(client, citizen())
        cache.clear()  # another gunicorn worker's cache knows nothing
    assert start(client, citizen()).status_code == 429


def test_every_start_is_in_the_access_log_known_document_or_not(
    client, open_mobile, citizen, outbox
):
    from identity.models import AccessLogEntry

    _, holder = open_mobile()
    before = set(AccessLogEntry.objects.values_list("id", flat=True))
    start(client, holder)
    start(client, holder, name="Someone Else")
    start(client, citizen())
    entries = list(AccessLogEntry.objects.exclude(id__in=before).order_by("id"))
    assert [e.detail["surface"] for e in entries] == ["my_lines"] * 3
    assert [e.purpose for e in entries] == ["customer_request"] * 3
    assert [e.actor_id for e in entries] == [None] * 3
    assert entries[0].person is not None
    assert entries[0].detail["name_matched"] is True
    assert entries[1].person == entries[0].person
    assert entries[1].detail["name_matched"] is False
    assert entries[2].person is None
    assert entries[2].detail["found"] is False
    assert holder.id_number not in str([e.detail for e in entries])


def test_a_refused_start_looks_the_same_for_known_and_unknown_documents(
    settings, client, open_mobile, citizen, outbox
):
    _, holder = open_mobile()
    settings.TELEREG_MY_LINES_DOCUMENT_LIMIT = 1
    stranger = citizen()
    start(client, holder)
    start(client, stranger)
    strip = lambda body: re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)  # noqa: E731
    known = start(client, holder, name="X Y")
    unknown = start(client, stranger, name="X Y")
    assert known.status_code == unknown.status_code == 429
    typed = lambda body: body.replace(holder.id_number, "").replace(stranger.id_number, "")  # noqa: E731
    assert strip(typed(known.content.decode())) == strip(typed(unknown.content.decode()))


def test_compliance_suspends_a_disputed_line_and_opens_a_reverification(
    client, open_mobile, outbox, alpha, make_staff, web_client_for
):
    tx, holder = open_mobile()
    start(client, holder)
    client.post("/my-lines/", {"step": "code", "code": last_code(outbox)})
    client.post(
        "/my-lines/", {"step": "report", "line": str(tx.line.uid), "reason": "someone_else"}
    )
    dispute = Dispute.objects.get()
    officer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    officer.post(
        reverse("console:reverification_dispute_changelist"),
        {"action": "suspend_and_reverify", "_selected_action": [dispute.pk]},
    )
    dispute.refresh_from_db()
    assert dispute.state == "suspended"
    tx.line.refresh_from_db()
    assert tx.line.status == LineStatus.SUSPENDED
    assert ReverificationRequest.objects.get(line=tx.line).state == RequestState.PENDING
