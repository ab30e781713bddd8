"""The identity endpoints of the API contract."""

from __future__ import annotations

import dataclasses

import pytest

from identity.models import AccessLogEntry, AccessPurpose, Person
from operators.roles import Role

pytestmark = pytest.mark.django_db


def block(identity) -> dict:
    data = dataclasses.asdict(identity)
    data["date_of_birth"] = identity.date_of_birth.isoformat()
    data["id_expiry"] = identity.id_expiry.isoformat() if identity.id_expiry else None
    return data


def test_check_of_a_known_citizen_is_valid_and_matched(citizen, alpha_clerk, api_client_for):
    identity = citizen()
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", block(identity), format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["valid"] is True
    assert body["authority"] == "match"
    assert body["reference"].startswith("SIM-")
    assert Person.objects.count() == 0
    entry = AccessLogEntry.objects.get()
    assert entry.purpose == AccessPurpose.AUTHORITY_CHECK
    assert entry.detail["outcome"] == "match"
    assert entry.store == alpha_clerk.store
    assert identity.id_number not in str(entry.detail)


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        ({"name": "Somebody Else"}, "mismatch"),
        (None, "not_found"),
    ],
)
def test_check_answers_mismatch_and_not_found(
    citizen, make_identity, alpha_clerk, api_client_for, change, outcome
):
    identity = citizen() if change else make_identity()
    if change:
        identity = dataclasses.replace(identity, **change)
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", block(identity), format="json"
    )
    assert response.status_code == 200
    assert response.json()["authority"] == outcome


def test_check_of_a_revoked_document_answers_revoked(citizen, alpha_clerk, api_client_for):
    identity = citizen(revoked=True)
    response = api_client_for(alpha_clerk).post(
        "/api/v1/identity/check/", block(identity), format="json"
    )
    assert response.json()["authority"] == "revoked"


def test_wrong_check_digit_is_400_naming_the_field_and_logs_nothing(
    make_identity, alpha_clerk, api_client_for
):
    identity = make_identity()
    last = identity.id_number[-1]
    wrong = "0" if last != "0" else "1"
    body = block(dataclasses.replace(identity, id_number=identity.id_number[:-1] + wrong))
    response = api_client_for(alpha_clerk).post("/api/v1/identity/check/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "check digit" in " ".join(error["fields"]["id_number"])
    assert not AccessLogEntry.objects.exists()
    assert identity.id_number[:-1] not in response.content.decode()


def test_birth_date_differing_from_number_is_400(make_identity, alpha_clerk, api_client_for):
    identity = make_identity()
    other = identity.date_of_birth.replace(day=1 if identity.date_of_birth.day != 1 else 2)
    body = block(dataclasses.replace(identity, date_of_birth=other))
    response = api_client_for(alpha_clerk).post("/api/v1/identity/check/", body, format="json")
    assert response.status_code == 400
    assert "date_of_birth" in response.json()["error"]["fields"]


def test_missing_fields_are_400_each_named(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).post("/api/v1/identity/check/", {}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"id_type", "id_number", "name", "date_of_birth", "sex"} <= set(fields)


def test_current_notice_has_all_six_parts_and_hash(alpha_notice, alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).get("/api/v1/privacy-notices/current/?language=en")
    assert response.status_code == 200
    body = response.json()
    assert body["hash"] == alpha_notice.content_hash
    for part in (
        "purpose",
        "manner",
        "scope",
        "retention",
        "query_and_correction",
        "consequences_of_refusal",
    ):
        assert body[part]


def test_current_notice_of_an_operator_is_public(alpha_notice, client):
    response = client.get("/api/v1/privacy-notices/current/?operator=alpha&language=en")
    assert response.status_code == 200
    assert response.json()["hash"] == alpha_notice.content_hash


def test_no_notice_in_a_language_is_404(alpha_notice, alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).get("/api/v1/privacy-notices/current/?language=zh-hans")
    assert response.status_code == 404


def test_compliance_officer_reveals_with_reason_and_it_is_logged(
    register, make_identity, alpha_compliance, api_client_for
):
    identity = make_identity()
    person = register(identity)
    response = api_client_for(alpha_compliance).post(
        f"/api/v1/persons/{person.uid}/reveal/",
        {"reason": "Court order 2026/117", "purpose": "law_enforcement", "fields": ["name"]},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"name": identity.name}
    assert response["Cache-Control"] == "no-store"
    entry = AccessLogEntry.objects.get(person=person)
    assert entry.purpose == "law_enforcement"
    assert entry.fields == ["name"]


def test_reveal_without_reason_is_400(register, make_identity, alpha_compliance, api_client_for):
    person = register(make_identity())
    response = api_client_for(alpha_compliance).post(
        f"/api/v1/persons/{person.uid}/reveal/", {"reason": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert not AccessLogEntry.objects.filter(person=person).exists()


def test_clerk_reveal_is_403(register, make_identity, alpha_clerk, api_client_for):
    person = register(make_identity())
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/persons/{person.uid}/reveal/", {"reason": "just looking"}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reveal_not_allowed"


def test_other_operators_person_is_404(register, make_identity, beta, make_staff, api_client_for):
    person = register(make_identity())
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    response = api_client_for(officer).post(
        f"/api/v1/persons/{person.uid}/reveal/", {"reason": "other operator"}, format="json"
    )
    assert response.status_code == 404


def test_subject_access_export_holds_data_consents_and_accesses(
    register, make_identity, alpha_compliance, api_client_for
):
    identity = make_identity()
    person = register(identity)
    response = api_client_for(alpha_compliance).post(
        f"/api/v1/persons/{person.uid}/export/",
        {"reason": "Subject access request SAR-7"},
        format="json",
    )
    assert response.status_code == 200
    export = response.json()
    assert export["person"]["name"] == identity.name
    assert export["person"]["id_number"] == identity.id_number
    assert len(export["consents"]) == 1
    assert export["accesses"][0]["purpose"] == "subject_access"
