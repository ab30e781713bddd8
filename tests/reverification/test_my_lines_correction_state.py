"""An address correction asked from /my-lines/ (issue 16): it goes to the
compliance officers' queue, a compliance officer approves it in the console,
the person's address is updated as a new version, and the subscriber sees
the request's state on their next visit (the history shows the correction)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from identity import services as identity_services
from identity import vault
from identity.models import CorrectionRequest, CorrectionStatus, PersonVersion
from operators.roles import Role
from tests.catalogues import compile_catalogues
from tests.reverification.subscriber_states import last_code

pytestmark = pytest.mark.django_db

PAGE = "/my-lines/?lang=en"
NEW_ADDRESS = "Room 9, 12 Harbour Road, Test City"


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


def visit(holder, outbox) -> Client:
    """A new visit (a new browser): look-up, code, the lines page."""
    client = Client()
    client.post(
        PAGE,
        {
            "step": "start",
            "operator": "alpha",
            "id_type": holder.id_type,
            "id_number": holder.id_number,
            "name": holder.name,
        },
    )
    assert client.post(PAGE, {"step": "code", "code": last_code(outbox)}).status_code == 200
    return client


def test_an_address_correction_from_the_page_approved_in_the_console_shows_its_state(
    open_mobile, outbox, alpha, make_staff, web_client_for
):
    tx, holder = open_mobile()
    person = tx.line.holder
    version_before = person.version
    client = visit(holder, outbox)
    response = client.post(PAGE, {"step": "correction", "address": NEW_ADDRESS})
    assert response.status_code == 200
    correction = CorrectionRequest.objects.get(person=person)
    assert correction.status == CorrectionStatus.PENDING
    page = client.get(PAGE).content.decode()
    assert 'data-status="pending"' in page
    assert NEW_ADDRESS not in page  # never the values, only which field

    officer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    decided = officer.post(
        reverse("console:identity_correctionrequest_change", args=[correction.pk]),
        {"decision": "approve", "note": "Matches the ID card"},
    )
    assert decided.status_code == 302
    person.refresh_from_db()
    assert vault.open_fields(person, ["address"]) == {"address": NEW_ADDRESS}
    assert person.version == version_before + 1
    assert PersonVersion.objects.filter(person=person, version=version_before).exists()

    again = visit(holder, outbox).get(PAGE).content.decode()
    assert 'data-status="approved"' in again
    assert "Approved" in again
    assert 'data-purpose="correction"' in again  # the decision read the data: it is logged


def test_a_refused_correction_shows_refused_and_changes_nothing(
    open_mobile, outbox, alpha, make_staff
):
    tx, holder = open_mobile()
    person = tx.line.holder
    before = vault.open_fields(person, ["address"])
    client = visit(holder, outbox)
    client.post(PAGE, {"step": "correction", "address": NEW_ADDRESS})
    correction = CorrectionRequest.objects.get(person=person)
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    identity_services.correction_decide(
        correction=correction, approve=False, actor=officer.user, note="No document"
    )
    person.refresh_from_db()
    assert vault.open_fields(person, ["address"]) == before
    page = visit(holder, outbox).get(PAGE).content.decode()
    assert 'data-status="refused"' in page


@pytest.mark.parametrize(
    ("address", "field", "reason"),
    [
        ("", "__all__", "Fill in at least one field"),
        ("a" * 301, "address", "300 characters"),
        ("Room\x07 1", "address", "control characters"),
    ],
    ids=["empty", "too long", "control character"],
)
def test_bad_address_input_gets_a_message_beside_the_field_and_stores_nothing(
    open_mobile, outbox, address, field, reason
):
    _, holder = open_mobile()
    client = visit(holder, outbox)
    response = client.post(PAGE, {"step": "correction", "address": address})
    assert response.status_code == 400
    errors = response.context["correction_form"].errors
    assert reason in " ".join(errors[field])
    assert reason in response.content.decode()
    assert CorrectionRequest.objects.count() == 0


def test_a_nul_in_the_address_is_refused_before_the_page_and_stores_nothing(open_mobile, outbox):
    # The NUL guard (config.middleware) refuses any request carrying one, with
    # its own page: nothing reaches the form, nothing is stored.
    _, holder = open_mobile()
    client = visit(holder, outbox)
    response = client.post(PAGE, {"step": "correction", "address": "Room 1\x00"})
    assert response.status_code == 400
    assert CorrectionRequest.objects.count() == 0


def test_another_persons_corrections_are_not_shown(open_mobile, outbox):
    _, holder = open_mobile()
    _, other = open_mobile()
    visit(other, outbox).post(PAGE, {"step": "correction", "address": NEW_ADDRESS})
    page = visit(holder, outbox).get(PAGE).content.decode()
    assert 'id="my-corrections"' not in page
