"""Subject corrections: requested, approved or refused by compliance, versioned."""

from __future__ import annotations

import pytest

from identity import services, vault
from identity.errors import CorrectionDecided
from identity.models import CorrectionStatus, PersonVersion

pytestmark = pytest.mark.django_db


def test_approved_address_correction_is_applied_and_versioned(
    register, make_identity, alpha_clerk, alpha_compliance
):
    person = register(make_identity(address="北京市朝阳区旧地址1号"))
    correction = services.correction_request_create(
        person=person, values={"address": "北京市朝阳区新地址2号"}, actor=alpha_clerk.user
    )
    assert "新地址" not in str(correction.proposed)
    services.correction_decide(correction=correction, approve=True, actor=alpha_compliance.user)
    person.refresh_from_db()
    assert vault.open_fields(person, ["address"]) == {"address": "北京市朝阳区新地址2号"}
    version = PersonVersion.objects.get(person=person)
    assert version.actor == alpha_compliance.user
    assert vault.decrypt_values(person, version.previous) == {"address": "北京市朝阳区旧地址1号"}
    correction.refresh_from_db()
    assert correction.status == CorrectionStatus.APPROVED


def test_refused_correction_changes_nothing_and_cannot_be_decided_twice(
    register, make_identity, alpha_clerk, alpha_compliance
):
    identity = make_identity()
    person = register(identity)
    correction = services.correction_request_create(
        person=person, values={"name": "Corrected Name"}, actor=alpha_clerk.user
    )
    services.correction_decide(correction=correction, approve=False, actor=alpha_compliance.user)
    person.refresh_from_db()
    assert vault.open_fields(person, ["name"]) == {"name": identity.name}
    with pytest.raises(CorrectionDecided):
        services.correction_decide(correction=correction, approve=True, actor=alpha_compliance.user)


def test_correction_that_breaks_the_document_rules_is_refused_up_front(
    register, make_identity, alpha_clerk
):
    from identity.documents import IdentityInvalid

    identity = make_identity()
    person = register(identity)
    other_day = identity.date_of_birth.replace(day=1 if identity.date_of_birth.day != 1 else 2)
    with pytest.raises(IdentityInvalid):
        services.correction_request_create(
            person=person, values={"date_of_birth": other_day.isoformat()}, actor=alpha_clerk.user
        )


def test_clerk_files_a_correction_through_the_api_and_compliance_sees_it_pending(
    register, make_identity, alpha_clerk, api_client_for
):
    from identity.models import CorrectionRequest

    person = register(make_identity(address="北京市朝阳区旧地址1号"))
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/persons/{person.uid}/corrections/",
        {"values": {"address": "北京市朝阳区新地址3号"}},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert CorrectionRequest.objects.get().person == person


def test_correction_of_an_uncorrectable_field_is_400(
    register, make_identity, alpha_clerk, api_client_for
):
    person = register(make_identity())
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/persons/{person.uid}/corrections/",
        {"values": {"id_number": "123"}},
        format="json",
    )
    assert response.status_code == 400
    assert "id_number" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "not-a-date"),
        ("date_of_birth", "1990-02-30"),
        ("id_expiry", "99999-01-01"),
        ("id_expiry", "2030-13-01"),
    ],
)
def test_correction_with_a_malformed_date_is_400_naming_the_field_and_stores_nothing(
    register, make_identity, alpha_clerk, api_client_for, field, value
):
    from identity.models import CorrectionRequest

    person = register(make_identity())
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/persons/{person.uid}/corrections/", {"values": {field: value}}, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {f"values.{field}": [str(services.NOT_A_DATE)]}
    assert not CorrectionRequest.objects.exists()


def test_correction_with_a_spoofed_name_is_refused(register, make_identity, alpha_clerk):
    from identity.documents import NAME_HIDDEN, IdentityInvalid

    person = register(make_identity())
    with pytest.raises(IdentityInvalid) as caught:
        services.correction_request_create(
            person=person, values={"name": "\u202eecilA"}, actor=alpha_clerk.user
        )
    assert caught.value.errors == {"name": [str(NAME_HIDDEN)]}
