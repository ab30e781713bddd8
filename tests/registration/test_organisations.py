"""Openings for an organisation through the API (issue 15): the organisation
is the holder shown (masked), the handler is verified, consents and is
recorded; a bad credit code, an expired authorization, a replaced handler
and the organisation's cap are refused on their fields."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from identity import organisations
from identity import selectors as identity_selectors
from identity.models import CitizenRecord, Organisation, OrganisationAuthorization, Person
from operators.roles import Role
from registration import representatives, services
from registration.models import Line, Transaction, TransactionState
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

CODE = "91110000600037341L"
NAME = "样例科技有限公司"
ADDRESS = "北京市朝阳区样例大街1号"


@pytest.fixture
def clerk_api(alpha_clerk, api_client_for):
    return api_client_for(alpha_clerk)


def post_tx(client, body):
    return client.post(
        "/api/v1/transactions/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
    )


def org_opening(
    handler, consent, *, code=CODE, reference="AUTH-2026-001", valid_until=None, **extra
):
    valid_until = valid_until or (timezone.localdate() + dt.timedelta(days=365))
    return {
        "kind": "mobile_open",
        "subscriber": {"type": "organisation", "name": NAME, "uscc": code, "address": ADDRESS},
        "handler": api_block(handler),
        "authorization": {"reference": reference, "valid_until": valid_until.isoformat()},
        "consent": {"notice": consent.notice_hash, "given": True},
        **extra,
    }


def test_an_organisations_opening_holds_the_line_in_its_name(
    clerk_api, citizen, consent, inventory
):
    handler = citizen()
    response = post_tx(clerk_api, org_opening(handler, consent))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["line"]["holder"]["type"] == "organisation"
    number = body["line"]["number"]
    line = clerk_api.get(f"/api/v1/lines/{number}/").json()
    assert line["holder"]["type"] == "organisation"
    assert line["holder"]["name"] == "样*******"
    assert line["holder"]["uscc"] == "9111**********341L"
    assert NAME not in str(line)
    assert CODE not in str(line)
    tx = Transaction.objects.get(uid=body["id"])
    org = Organisation.objects.get()
    person = Person.objects.get()
    assert tx.organisation == org
    assert tx.handler == person
    assert tx.applicant == person
    assert tx.consent.person == person
    assert tx.authorization_reference == "AUTH-2026-001"
    assert Line.objects.get(number=number).organisation == org
    # The handler's own cap is untouched by the organisation's line.
    assert person.verification_status == "verified"


def test_a_bad_check_character_is_400_on_subscriber_uscc(clerk_api, citizen, consent, inventory):
    response = post_tx(clerk_api, org_opening(citizen(), consent, code=CODE[:-1] + "M"))
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["subscriber.uscc"]
    assert not Transaction.objects.exists()
    assert not Organisation.objects.exists()
    assert not Person.objects.exists()


def test_an_expired_authorization_is_400_on_authorization_valid_until(
    clerk_api, citizen, consent, inventory
):
    body = org_opening(citizen(), consent, valid_until=timezone.localdate() - dt.timedelta(days=1))
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["authorization.valid_until"]
    assert not Transaction.objects.exists()
    assert not Person.objects.exists()


def test_missing_handler_and_authorization_are_named(clerk_api, citizen, consent, inventory):
    body = org_opening(citizen(), consent)
    body.pop("handler")
    body.pop("authorization")
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) >= {"handler", "authorization"}


def test_a_handler_the_authority_refuses_is_refused_as_an_applicant(
    clerk_api, citizen, consent, inventory
):
    response = post_tx(clerk_api, org_opening(citizen(revoked=True), consent))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "identity_not_verified"
    assert "handler" in response.json()["error"]["fields"]
    assert not Line.objects.exists()


def test_the_handlers_identity_errors_are_named_handler(clerk_api, citizen, consent, inventory):
    handler = citizen()
    body = org_opening(handler, consent)
    body["handler"]["id_number"] = "110105199003071240"
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert all(name.startswith("handler.") for name in response.json()["error"]["fields"])


def test_a_replaced_handler_can_no_longer_act(clerk_api, citizen, consent, inventory):
    first, second = citizen(), citizen()
    assert post_tx(clerk_api, org_opening(first, consent, reference="AUTH-1")).status_code == 201
    # The organisation authorizes someone else: a new authorization.
    replaced = post_tx(clerk_api, org_opening(second, consent, reference="AUTH-2"))
    assert replaced.status_code == 201, replaced.json()
    # Every open line of the organisation is answered for by the new handler.
    second_person = Transaction.objects.get(uid=replaced.json()["id"]).handler
    assert set(Line.objects.values_list("holder", flat=True)) == {second_person.pk}
    # The old handler with the old letter: refused (403 handler_replaced).
    again = post_tx(clerk_api, org_opening(first, consent, reference="AUTH-1"))
    assert again.status_code == 403
    assert again.json()["error"]["code"] == "handler_replaced"
    # Nor may they use the new handler's letter.
    borrowed = post_tx(clerk_api, org_opening(first, consent, reference="AUTH-2"))
    assert borrowed.status_code == 403
    assert Line.objects.count() == 2
    current = OrganisationAuthorization.objects.get(ended_at__isnull=True)
    assert current.handler == second_person
    # The new handler goes on.
    assert post_tx(clerk_api, org_opening(second, consent, reference="AUTH-2")).status_code == 201


def test_the_old_handler_can_no_longer_close_the_organisations_line(
    clerk_api, citizen, consent, inventory
):
    first, second = citizen(), citizen()
    opened = post_tx(clerk_api, org_opening(first, consent, reference="AUTH-1")).json()
    post_tx(clerk_api, org_opening(second, consent, reference="AUTH-2"))
    number = opened["line"]["number"]
    close = {
        "kind": "line_close",
        "line": number,
        "applicant": api_block(first),
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    refused = post_tx(clerk_api, close)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "holder_mismatch"
    close["applicant"] = api_block(second)
    closed = post_tx(clerk_api, close)
    assert closed.status_code == 201, closed.json()
    assert Line.objects.get(number=number).status == "closed"


def test_the_organisation_cap_and_its_raise(
    clerk_api, citizen, consent, inventory, alpha, make_staff
):
    alpha.organisation_line_cap = 2
    alpha.save()
    handler = citizen()
    for _ in range(2):
        assert post_tx(clerk_api, org_opening(handler, consent)).status_code == 201
    over = post_tx(clerk_api, org_opening(handler, consent))
    assert over.status_code == 409
    assert over.json()["error"]["code"] == "cap_reached"
    assert Transaction.objects.filter(refusal_code="cap_reached").count() == 1
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    organisations.organisation_cap_raise(
        org=Organisation.objects.get(), actor=officer.user, cap=3, reason="delivery fleet"
    )
    assert post_tx(clerk_api, org_opening(handler, consent)).status_code == 201
    # The handler's own cap (5 mobile lines) still has room: the 3 lines are the organisation's.
    own = {
        "kind": "mobile_open",
        "applicant": api_block(handler),
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    for _ in range(5):
        assert post_tx(clerk_api, own).status_code == 201
    assert post_tx(clerk_api, own).json()["error"]["code"] == "cap_reached"


def test_an_organisations_line_is_another_operators_404(
    clerk_api, citizen, consent, inventory, beta_store, api_client_for, make_staff, beta
):
    number = post_tx(clerk_api, org_opening(citizen(), consent)).json()["line"]["number"]
    stranger = api_client_for(make_staff(beta, Role.CLERK, store=beta_store))
    assert stranger.get(f"/api/v1/lines/{number}/").status_code == 404


def test_a_subscriber_with_an_applicant_or_on_a_line_kind_is_refused(
    clerk_api, citizen, consent, inventory
):
    body = org_opening(citizen(), consent)
    body["applicant"] = body["handler"]
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert "applicant" in response.json()["error"]["fields"]
    body = org_opening(citizen(), consent, kind="service_add", line="+8613800138000", service="x")
    response = post_tx(clerk_api, body)
    assert response.status_code == 400
    assert "subscriber" in response.json()["error"]["fields"]
    assert not Transaction.objects.exists()


def test_the_handler_transfers_an_organisations_line_to_a_person(
    clerk_api, citizen, consent, inventory
):
    handler, person = citizen(), citizen()
    number = post_tx(clerk_api, org_opening(handler, consent)).json()["line"]["number"]
    body = {
        "kind": "mobile_transfer",
        "line": number,
        "holder": api_block(handler),
        "new_holder": api_block(person),
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    response = post_tx(clerk_api, body)
    assert response.status_code == 201, response.json()
    line = clerk_api.get(f"/api/v1/lines/{number}/").json()
    assert line["holder"].get("type") != "organisation"
    assert line["holder"]["name"].startswith(person.name[0])
    assert Line.objects.get(number=number).organisation is None
    assert Organisation.objects.get().lines_held == 0


def test_an_organisations_opening_waits_for_the_authority_and_completes_for_it(
    citizen, consent, inventory, alpha_clerk
):
    handler = citizen()
    index = identity_selectors.document_index(id_type=handler.id_type, id_number=handler.id_number)
    CitizenRecord.objects.filter(doc_index=index).update(unavailable=True)
    valid = timezone.localdate() + dt.timedelta(days=30)
    tx = services.transaction_submit(
        actor=alpha_clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open",
            consent=consent,
            subscriber=representatives.OrganisationInput(name=NAME, uscc=CODE),
            handler=handler,
            authorization=representatives.AuthorizationInput(reference="AUTH-W", valid_until=valid),
        ),
    )
    assert tx.state == TransactionState.PENDING_VERIFICATION
    org = Organisation.objects.get()
    # The waiting opening counts toward the organisation's cap already.
    assert representatives.organisation_lines_held(org) == 1
    CitizenRecord.objects.filter(doc_index=index).update(unavailable=False)
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.COMPLETED
    line = Transaction.objects.get(pk=tx.pk).line
    assert line.organisation == org
    assert representatives.organisation_lines_held(org) == 1


def test_a_person_transfers_their_line_to_an_organisation(clerk_api, citizen, consent, inventory):
    holder, handler = citizen(), citizen()
    own = {
        "kind": "mobile_open",
        "applicant": api_block(holder),
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    number = post_tx(clerk_api, own).json()["line"]["number"]
    body = {
        "kind": "mobile_transfer",
        "line": number,
        "holder": api_block(holder),
        "subscriber": {"type": "organisation", "name": NAME, "uscc": CODE},
        "handler": api_block(handler),
        "authorization": {
            "reference": "AUTH-T",
            "valid_until": (timezone.localdate() + dt.timedelta(days=9)).isoformat(),
        },
        "consent": {"notice": consent.notice_hash, "given": True},
    }
    response = post_tx(clerk_api, body)
    assert response.status_code == 201, response.json()
    shown = clerk_api.get(f"/api/v1/lines/{number}/").json()["holder"]
    assert shown["type"] == "organisation"
    assert shown["uscc"] == "9111**********341L"
    tx = Transaction.objects.get(uid=response.json()["id"])
    assert tx.handler == tx.new_holder
    assert Organisation.objects.get().lines_held == 1
    # A handler's bad identity is named handler, not new_holder.
    body["handler"]["id_number"] = "110105199003071240"
    bad = post_tx(clerk_api, body)
    assert bad.status_code == 400
    assert all(name.startswith("handler.") for name in bad.json()["error"]["fields"])
