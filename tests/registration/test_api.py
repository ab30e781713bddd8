"""The registration API of the contract: bodies, statuses, idempotency, scoping."""

from __future__ import annotations

import uuid

import pytest

from identity.models import Person
from operators.roles import Role
from registration.models import IdempotencyRecord, Line, PhoneNumber, Transaction
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def post_tx(client, body, key=None):
    return client.post(
        "/api/v1/transactions/",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or uuid.uuid4().hex,
    )


def opening(identity, consent, **extra):
    return {
        "kind": "mobile_open",
        "applicant": api_block(identity),
        "consent": {"notice": consent.notice_hash, "given": True},
        **extra,
    }


def test_mobile_opening_answers_201_with_transaction_and_masked_line(
    clerk_api, citizen, consent, inventory
):
    identity = citizen()
    response = post_tx(clerk_api, opening(identity, consent, number="+8613800138003"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) >= {"id", "reference", "kind", "state", "line", "created_at"}
    assert body["state"] == "completed"
    assert body["line"]["number"] == "+8613800138003"
    assert body["line"]["status"] == "active"
    holder = body["line"]["holder"]
    assert identity.name not in str(holder)
    assert identity.id_number not in str(holder)
    assert holder["name"].startswith(identity.name[0])


def test_idempotency_key_is_required(clerk_api, citizen, consent, inventory):
    response = clerk_api.post("/api/v1/transactions/", opening(citizen(), consent), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"
    assert not Transaction.objects.exists()


def test_retried_post_with_the_same_key_creates_one_transaction_and_one_line(
    clerk_api, citizen, consent, inventory
):
    body = opening(citizen(), consent)
    first = post_tx(clerk_api, body, key="retry-key-0001")
    second = post_tx(clerk_api, body, key="retry-key-0001")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 1
    assert Line.objects.count() == 1


def test_same_key_with_another_body_is_422(clerk_api, citizen, consent, inventory):
    post_tx(clerk_api, opening(citizen(), consent), key="reused-key-0002")
    response = post_tx(clerk_api, opening(citizen(), consent), key="reused-key-0002")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Transaction.objects.count() == 1


def test_keys_are_per_user(
    alpha, clerk_api, make_staff, api_client_for, citizen, consent, inventory
):
    other = api_client_for(make_staff(alpha, Role.CLERK))
    assert post_tx(clerk_api, opening(citizen(), consent), key="shared-key-0003").status_code == 201
    assert post_tx(other, opening(citizen(), consent), key="shared-key-0003").status_code == 201


def test_a_stored_refusal_is_replayed_not_redone(clerk_api, citizen, consent, inventory):
    body = opening(citizen(), consent, number="+8613999999999")
    first = post_tx(clerk_api, body, key="refusal-key-0004")
    again = post_tx(clerk_api, body, key="refusal-key-0004")
    assert first.status_code == again.status_code == 409
    assert first.json() == again.json()
    assert Transaction.objects.count() == 1


def test_invalid_identity_is_400_with_nested_field_and_stores_nothing(
    clerk_api, make_identity, consent, inventory
):
    identity = make_identity()
    body = opening(identity, consent)
    body["applicant"]["id_number"] = identity.id_number[:-1] + (
        "0" if identity.id_number[-1] != "0" else "1"
    )
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["applicant.id_number"] == ["check digit does not match"]
    assert not Person.objects.exists()
    assert not Transaction.objects.exists()


def test_missing_applicant_for_the_kind_is_400(clerk_api, consent, inventory):
    response = post_tx(
        clerk_api,
        {"kind": "mobile_open", "consent": {"notice": consent.notice_hash, "given": True}},
    )
    assert response.status_code == 400
    assert "applicant" in response.json()["error"]["fields"]


def test_cap_reached_is_409_with_the_count(clerk_api, citizen, consent, inventory, alpha):
    alpha.mobile_line_cap = 1
    alpha.save()
    identity = citizen()
    assert post_tx(clerk_api, opening(identity, consent)).status_code == 201
    response = post_tx(clerk_api, opening(identity, consent))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cap_reached"
    assert "holds 1 mobile line(s)" in error["message"]
    assert "reference" in error["message"]


def test_transfer_through_the_api(clerk_api, citizen, consent, inventory):
    holder, new_holder = citizen(), citizen()
    line = post_tx(clerk_api, opening(holder, consent)).json()["line"]["number"]
    response = post_tx(
        clerk_api,
        {
            "kind": "mobile_transfer",
            "line": line,
            "holder": api_block(holder),
            "new_holder": api_block(new_holder),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["line"]["number"] == line


def test_waiting_on_the_authority_is_202_and_cancel_releases(
    clerk_api, citizen, consent, inventory, monkeypatch
):
    from identity import authority
    from identity.authority import AuthorityResult, Outcome, utc_now

    class Down:
        name = "down"

        def verify(self, identity):
            return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-1", utc_now(), "down")

    monkeypatch.setattr(authority, "get_backend", lambda: Down())
    response = post_tx(clerk_api, opening(citizen(), consent))
    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "pending_verification"
    assert body["line"] is None
    cancel = clerk_api.post(f"/api/v1/transactions/{body['id']}/cancel/")
    assert cancel.status_code == 200
    assert cancel.json()["state"] == "cancelled"
    assert PhoneNumber.objects.filter(status="reserved").count() == 0


def test_cancel_of_a_completed_transaction_is_409(clerk_api, citizen, consent, inventory):
    tx = post_tx(clerk_api, opening(citizen(), consent)).json()
    response = clerk_api.post(f"/api/v1/transactions/{tx['id']}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_cancellable"


def test_transactions_list_and_detail_are_scoped(
    clerk_api, citizen, consent, inventory, beta, make_staff, api_client_for
):
    tx = post_tx(clerk_api, opening(citizen(), consent)).json()
    listed = clerk_api.get("/api/v1/transactions/").json()
    assert [t["id"] for t in listed["results"]] == [tx["id"]]
    assert clerk_api.get(f"/api/v1/transactions/{tx['id']}/").status_code == 200
    outsider = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert outsider.get(f"/api/v1/transactions/{tx['id']}/").status_code == 404
    assert outsider.get("/api/v1/transactions/").json()["count"] == 0


def test_line_lookup_by_number_is_masked_and_scoped(
    clerk_api, citizen, consent, inventory, beta, make_staff, api_client_for
):
    identity = citizen()
    number = post_tx(clerk_api, opening(identity, consent)).json()["line"]["number"]
    found = clerk_api.get("/api/v1/lines/", {"number": number}).json()["results"]
    assert len(found) == 1
    assert found[0]["status"] == "active"
    assert identity.name not in str(found)
    detail = clerk_api.get(f"/api/v1/lines/{number}/")
    assert detail.status_code == 200
    assert detail.json()["store"] == clerk_api.get("/api/v1/me/").json()["store"]
    outsider = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert outsider.get(f"/api/v1/lines/{number}/").status_code == 404


def test_line_lookup_with_a_malformed_number_is_400(clerk_api):
    response = clerk_api.get("/api/v1/lines/", {"number": "not-a-number"})
    assert response.status_code == 400
    assert "number" in response.json()["error"]["fields"]


def test_available_numbers_filter_by_kind_and_pattern(clerk_api, inventory):
    body = clerk_api.get("/api/v1/numbers/available/", {"kind": "mobile", "pattern": "3800138001"})
    assert [n["number"] for n in body.json()["results"]] == ["+8613800138001"]
    body = clerk_api.get("/api/v1/numbers/available/", {"kind": "mobile", "pattern": "0013801"})
    assert [n["number"] for n in body.json()["results"]] == [
        f"+86138001380{n}" for n in range(10, 20)
    ]
    assert clerk_api.get("/api/v1/numbers/available/", {"kind": "fax"}).status_code == 400


def test_services_list_the_catalog(clerk_api, catalog):
    body = clerk_api.get("/api/v1/services/").json()
    assert {s["code"]: s["line_kinds"] for s in body["results"]} == {
        "call_forwarding": ["mobile", "landline"],
        "intl_roaming": ["mobile"],
    }


def test_compliance_officer_cannot_take_transactions(
    alpha, make_staff, api_client_for, citizen, consent, inventory
):
    officer = api_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    response = post_tx(officer, opening(citizen(), consent))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_not_allowed"
    assert not IdempotencyRecord.objects.exists()


def test_schema_lists_the_registration_endpoints(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    for path in (
        "/api/v1/transactions/",
        "/api/v1/transactions/{uid}/",
        "/api/v1/transactions/{uid}/cancel/",
        "/api/v1/lines/",
        "/api/v1/lines/{number}/",
        "/api/v1/numbers/available/",
        "/api/v1/services/",
        "/api/v1/identity/check/",
        "/api/v1/privacy-notices/current/",
        "/api/v1/persons/{uid}/reveal/",
    ):
        assert path in paths


def test_the_identity_block_sets_the_persons_language(clerk_api, citizen, consent, inventory):
    identity = citizen()
    body = opening(identity, consent)
    body["applicant"]["language"] = "en"
    assert post_tx(clerk_api, body).status_code == 201
    assert Person.objects.get().language == "en"


def test_without_a_language_the_person_gets_the_default(clerk_api, citizen, consent, inventory):
    body = opening(citizen(), consent)
    body["applicant"].pop("language", None)
    assert post_tx(clerk_api, body).status_code == 201
    assert Person.objects.get().language == "zh-hans"


@pytest.mark.parametrize("bad", ["fr", "EN", "en\x00", 7, ["en"], {"a": "en"}])
def test_a_bad_language_is_400_naming_the_field_and_stores_nothing(
    clerk_api, citizen, consent, inventory, bad
):
    body = opening(citizen(), consent)
    body["applicant"]["language"] = bad
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert "applicant.language" in response.json()["error"]["fields"]
    assert not Person.objects.exists()
    assert not Transaction.objects.exists()


def test_a_returning_person_who_asks_for_another_language_gets_it_recorded(
    clerk_api, citizen, consent, inventory, alpha_clerk
):
    from identity.models import PersonVersion

    identity = citizen()
    assert post_tx(clerk_api, opening(identity, consent)).status_code == 201
    body = opening(identity, consent)
    body["applicant"]["language"] = "en"
    assert post_tx(clerk_api, body).status_code == 201
    person = Person.objects.get()
    assert person.language == "en"
    version = PersonVersion.objects.get(person=person, changed_fields=["language"])
    assert version.actor == alpha_clerk.user
