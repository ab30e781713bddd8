"""A correction request's console page (issue 12): held and proposed values
side by side, masked unless revealed through the audited reveal; approve or
refuse as buttons with a note, one correction at a time, by a second person."""

from __future__ import annotations

import pytest
from django.urls import reverse

from identity import services, vault
from identity.errors import CorrectionFourEyes
from identity.models import AccessLogEntry, AccessPurpose, CorrectionRequest, CorrectionStatus
from operators.roles import Role

pytestmark = pytest.mark.django_db

OLD_ADDRESS = "北京市朝阳区旧地址1号"
NEW_ADDRESS = "北京市海淀区新地址2号"
NEW_NAME = "Corrected Holder Name"


@pytest.fixture
def filed(register, make_identity, alpha_clerk):
    """A pending correction of a person's name and address, filed by a clerk:
    (correction, the person's synthetic identity)."""
    identity = make_identity(address=OLD_ADDRESS)
    person = register(identity)
    correction = services.correction_request_create(
        person=person, values={"name": NEW_NAME, "address": NEW_ADDRESS}, actor=alpha_clerk.user
    )
    return correction, identity


@pytest.fixture
def officer_client(alpha_compliance, web_client_for):
    return web_client_for(alpha_compliance)


def page_url(correction: CorrectionRequest) -> str:
    return reverse("console:identity_correctionrequest_change", args=[correction.pk])


def correction_log(correction: CorrectionRequest):
    return AccessLogEntry.objects.filter(
        person_id=correction.person_id, purpose=AccessPurpose.CORRECTION
    )


def test_the_page_shows_both_values_side_by_side_masked(filed, officer_client):
    correction, identity = filed
    response = officer_client.get(page_url(correction))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    for clear in (identity.name, NEW_NAME, OLD_ADDRESS, NEW_ADDRESS, identity.id_number):
        assert clear not in body
    rows = {row.field: row for row in response.context["rows"]}
    assert set(rows) == {"name", "address"}
    assert rows["name"].current.startswith(identity.name[0])
    assert "*" in rows["name"].current
    assert rows["name"].proposed == "C" + "*" * (len(NEW_NAME) - 1)
    assert rows["address"].current != rows["address"].proposed  # the change is visible
    assert "***" in rows["address"].proposed
    assert not correction_log(correction).exists()  # masked: nothing to log


def test_revealing_shows_both_in_clear_and_is_logged(filed, officer_client, alpha_compliance):
    correction, identity = filed
    response = officer_client.post(
        page_url(correction), {"action": "reveal", "reason": "Checking the ID card copy"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    for clear in (identity.name, NEW_NAME, OLD_ADDRESS, NEW_ADDRESS):
        assert clear in body
    entry = correction_log(correction).get()
    assert entry.actor == alpha_compliance.user
    assert sorted(entry.fields) == ["address", "name"]
    assert entry.reason == "Checking the ID card copy"
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.PENDING


@pytest.mark.parametrize("reason", ["", "abc", "x" * 301])
def test_a_reveal_without_a_proper_reason_is_refused_and_logs_nothing(
    filed, officer_client, reason
):
    correction, identity = filed
    response = officer_client.post(page_url(correction), {"action": "reveal", "reason": reason})
    assert response.status_code == 400
    assert "reason" in response.context["reveal_form"].errors
    assert identity.name not in response.content.decode()
    assert not correction_log(correction).exists()


def test_approve_applies_the_values_and_records_the_note(filed, officer_client, alpha_compliance):
    correction, _ = filed
    response = officer_client.post(
        page_url(correction), {"decision": "approve", "note": "ID card seen in store"}
    )
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.APPROVED
    assert correction.decided_by == alpha_compliance.user
    assert correction.decision_note == "ID card seen in store"
    person = correction.person
    person.refresh_from_db()
    assert vault.open_fields(person, ["name", "address"]) == {
        "name": NEW_NAME,
        "address": NEW_ADDRESS,
    }
    assert correction_log(correction).get().actor == alpha_compliance.user
    page = officer_client.get(page_url(correction)).content.decode()
    assert 'value="approve"' not in page  # decided: no buttons any more


def test_refuse_needs_a_note_and_changes_nothing(filed, officer_client):
    correction, identity = filed
    response = officer_client.post(page_url(correction), {"decision": "refuse", "note": "  "})
    assert response.status_code == 400
    assert "note" in response.context["decision_form"].errors
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.PENDING
    response = officer_client.post(
        page_url(correction), {"decision": "refuse", "note": "Documents do not match"}
    )
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.REFUSED
    assert correction.decision_note == "Documents do not match"
    assert vault.open_fields(correction.person, ["name"]) == {"name": identity.name}
    assert correction_log(correction).count() == 1


@pytest.mark.parametrize(
    "data", [{"decision": "maybe"}, {"decision": "approve", "note": "n" * 301}, {}]
)
def test_a_bad_decision_is_refused_cleanly(filed, officer_client, data):
    correction, _ = filed
    assert officer_client.post(page_url(correction), data).status_code == 400
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.PENDING


def test_whoever_filed_a_correction_cannot_decide_it(
    register, make_identity, alpha_compliance, officer_client
):
    person = register(make_identity())
    own = services.correction_request_create(
        person=person, values={"name": NEW_NAME}, actor=alpha_compliance.user
    )
    page = officer_client.get(page_url(own)).content.decode()
    assert "another person decides it" in page
    response = officer_client.post(page_url(own), {"decision": "approve", "note": ""})
    assert response.status_code == 403
    assert CorrectionRequest.objects.get(pk=own.pk).status == CorrectionStatus.PENDING
    with pytest.raises(CorrectionFourEyes):
        services.correction_decide(correction=own, approve=True, actor=alpha_compliance.user)


def test_a_decided_correction_cannot_be_decided_again_from_its_page(filed, officer_client):
    correction, _ = filed
    officer_client.post(page_url(correction), {"decision": "refuse", "note": "No proof given"})
    response = officer_client.post(page_url(correction), {"decision": "approve", "note": ""})
    assert response.status_code == 403
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.REFUSED


def test_another_operators_correction_is_404(filed, beta, make_staff, web_client_for):
    correction, _ = filed
    outsider = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert outsider.get(page_url(correction)).status_code == 404
    assert outsider.post(page_url(correction), {"decision": "approve"}).status_code == 404
    assert (
        outsider.post(
            page_url(correction), {"action": "reveal", "reason": "Curious about it"}
        ).status_code
        == 404
    )
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.PENDING
    assert not correction_log(correction).exists()


@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR_ADMIN])
def test_staff_who_may_not_reveal_get_403(filed, alpha, make_staff, web_client_for, role):
    correction, _ = filed
    client = web_client_for(make_staff(alpha, role))
    assert client.get(page_url(correction)).status_code == 403
    assert client.post(page_url(correction), {"decision": "approve"}).status_code == 403
    assert CorrectionRequest.objects.get(pk=correction.pk).status == CorrectionStatus.PENDING


def test_a_garbage_id_is_404_not_500(officer_client):
    url = reverse("console:identity_correctionrequest_change", args=["x1"])
    assert officer_client.get(url).status_code == 404


def test_the_list_names_fields_by_label_and_offers_no_bulk_decision(filed, officer_client):
    response = officer_client.get(reverse("console:identity_correctionrequest_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Name, Address" in body
    assert 'value="approve"' not in body
    assert "Pending" in body
