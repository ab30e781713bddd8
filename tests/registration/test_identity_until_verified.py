"""Identities change only after they are verified: a waiting transaction holds
the identity it was given on its own encrypted record; the person on file
changes only when the authority has matched, a verified identity is never
overwritten silently, and a clerk's grant never reaches a stored identity."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone

from config.api import status_for
from identity import services as identity_services
from identity import vault
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.errors import RevealNotAllowed
from identity.models import ENCRYPTED_FIELDS, Person, PersonVersion, VerificationStatus
from identity.services import CitizenRow
from operators.roles import Role
from registration import services
from registration.errors import IdentityMismatchRefused
from registration.models import Line, LineService, Transaction, TransactionState
from reverification import campaigns, tokens
from tests.registration.conftest import api_block

pytestmark = pytest.mark.django_db

IMPOSTOR_NAME = "冒名顶替"
IMPOSTOR_ADDRESS = "上海市浦东新区冒名路9号"


class _Unavailable:
    name = "test-down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)


@pytest.fixture
def authority_switch(monkeypatch):
    """The simulated authority, reachable while ``switch.up`` is true."""
    from identity import authority

    real = authority.get_backend
    switch = SimpleNamespace(up=True)
    monkeypatch.setattr(authority, "get_backend", lambda: real() if switch.up else _Unavailable())
    return switch


def _snapshot(person: Person) -> tuple[dict, list]:
    """Everything of a person that a transaction could change."""
    row = (
        Person.objects.filter(pk=person.pk)
        .values(
            *[f"{name}_enc" for name in ENCRYPTED_FIELDS],
            "wrapped_key",
            "doc_index",
            "verification_status",
            "verified_at",
            "version",
            "shredded_at",
        )
        .get()
    )
    row = {k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()}
    versions = list(
        PersonVersion.objects.filter(person=person)
        .order_by("version")
        .values_list("version", "changed_fields", "previous")
    )
    return row, versions


def _impostor(identity):
    return dataclasses.replace(identity, name=IMPOSTOR_NAME, address=IMPOSTOR_ADDRESS)


def _rename_in_registry(identity, name: str) -> None:
    identity_services.authority_registry_load(
        [
            CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
            )
        ]
    )


@pytest.fixture
def verified(open_mobile):
    """A verified person holding one line: (person, identity, their opening)."""
    tx, identity = open_mobile()
    person = tx.applicant
    person.refresh_from_db()
    assert person.verification_status == VerificationStatus.VERIFIED
    return person, identity, tx


# --- an opening while the authority is unreachable ----------------------------------------


def test_waiting_opening_with_a_verified_document_leaves_the_stored_identity_alone(
    verified, submit, authority_switch
):
    person, identity, _ = verified
    before = _snapshot(person)
    authority_switch.up = False
    tx = submit("mobile_open", applicant=_impostor(identity))
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert tx.applicant_id == person.pk
    assert _snapshot(person) == before
    # What was given waits on the transaction, encrypted under the person's key.
    held = bytes(Transaction.objects.get(pk=tx.pk).applicant_identity_enc)
    assert IMPOSTOR_NAME.encode() not in held
    assert IMPOSTOR_ADDRESS.encode() not in held


def test_cancelled_waiting_opening_leaves_the_person_exactly_as_before(
    verified, submit, authority_switch, alpha_clerk
):
    person, identity, _ = verified
    before = _snapshot(person)
    authority_switch.up = False
    tx = submit("mobile_open", applicant=_impostor(identity))
    services.transaction_cancel(tx=tx, actor=alpha_clerk.user)
    assert _snapshot(person) == before
    tx.refresh_from_db()
    assert tx.applicant_identity_enc is None  # nothing held after the end


def test_cancelled_waiting_opening_of_a_new_document_leaves_no_identity_behind(
    submit, citizen, inventory, authority_switch, alpha_clerk
):
    authority_switch.up = False
    tx = submit("mobile_open", applicant=citizen())
    services.transaction_cancel(tx=tx, actor=alpha_clerk.user)
    person = Person.objects.get(pk=tx.applicant_id)
    assert person.is_shredded
    assert person.wrapped_key is None


def test_cancelled_waiting_opening_leaves_a_never_verified_line_holder_as_before(
    verified, submit, authority_switch, alpha_clerk
):
    person, identity, _ = verified
    Person.objects.filter(pk=person.pk).update(
        verification_status=VerificationStatus.NEVER, verified_at=None
    )
    before = _snapshot(person)
    authority_switch.up = False
    tx = submit("mobile_open", applicant=_impostor(identity))
    assert _snapshot(person) == before
    services.transaction_cancel(tx=tx, actor=alpha_clerk.user)
    assert _snapshot(person) == before


def test_rejected_waiting_opening_leaves_the_verified_person_exactly_as_before(
    verified, submit, authority_switch
):
    person, identity, _ = verified
    before = _snapshot(person)
    authority_switch.up = False
    tx = submit("mobile_open", applicant=_impostor(identity))
    authority_switch.up = True
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    # The authority refused the identity typed on the transaction, not the
    # person on file: their status stays verified and their data unchanged.
    assert _snapshot(person) == before
    tx.refresh_from_db()
    assert tx.refusal_code == "identity_not_verified"
    assert tx.applicant_identity_enc is None


def test_waiting_opening_applies_the_given_identity_when_matched_as_a_version(
    verified, submit, authority_switch, alpha_clerk
):
    person, identity, _ = verified
    moved = dataclasses.replace(identity, address="北京市海淀区新家路3号")
    authority_switch.up = False
    tx = submit("mobile_open", applicant=moved)
    assert vault.open_fields(Person.objects.get(pk=person.pk), ["address"]) == {
        "address": identity.address
    }
    authority_switch.up = True
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.COMPLETED
    person.refresh_from_db()
    assert vault.open_fields(person, ["address"]) == {"address": moved.address}
    version = PersonVersion.objects.get(person=person)
    assert version.changed_fields == ["address"]
    assert version.actor == alpha_clerk.user
    assert tx.reference in version.reason
    assert person.verification_status == VerificationStatus.VERIFIED
    tx.refresh_from_db()
    assert tx.applicant_identity_enc is None


def test_waiting_opening_over_the_api_answers_202_and_overwrites_nothing(
    verified, alpha_clerk, api_client_for, consent, authority_switch
):
    person, identity, _ = verified
    before = _snapshot(person)
    authority_switch.up = False
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open",
            "applicant": api_block(_impostor(identity)),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 202, response.json()
    assert _snapshot(person) == before


def test_waiting_opening_whose_person_was_erased_meanwhile_is_rejected_not_retried(
    submit, citizen, inventory, authority_switch
):
    authority_switch.up = False
    tx = submit("mobile_open", applicant=citizen())
    identity_services.person_shred(person=tx.applicant)
    authority_switch.up = True
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    tx.refresh_from_db()
    assert tx.refusal_code == "person_erased"
    assert tx.next_verification_at is None


# --- a verified identity is never overwritten silently --------------------------------------


def test_matched_identity_differing_from_a_verified_one_is_refused_as_mismatch(verified, submit):
    person, identity, _ = verified
    before = _snapshot(person)
    _rename_in_registry(identity, IMPOSTOR_NAME)  # the authority now matches another name
    with pytest.raises(IdentityMismatchRefused) as info:
        submit("mobile_open", applicant=dataclasses.replace(identity, name=IMPOSTOR_NAME))
    assert info.value.code == "identity_mismatch"
    assert status_for(info.value) == 409
    assert "applicant.name" in info.value.fields
    assert info.value.transaction.state == TransactionState.REJECTED
    assert info.value.transaction.refusal_code == "identity_mismatch"
    assert _snapshot(person) == before


def test_matched_identity_differing_from_a_verified_one_answers_409_over_the_api(
    verified, alpha_clerk, api_client_for, consent
):
    person, identity, _ = verified
    before = _snapshot(person)
    _rename_in_registry(identity, IMPOSTOR_NAME)
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open",
            "applicant": api_block(dataclasses.replace(identity, name=IMPOSTOR_NAME)),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "identity_mismatch"
    assert "applicant.name" in error["fields"]
    assert IMPOSTOR_NAME not in response.content.decode()
    assert identity.name not in response.content.decode()
    assert _snapshot(person) == before


def test_worker_refuses_a_matched_identity_differing_from_a_verified_one(
    verified, submit, authority_switch
):
    person, identity, _ = verified
    before = _snapshot(person)
    authority_switch.up = False
    tx = submit("mobile_open", applicant=dataclasses.replace(identity, name=IMPOSTOR_NAME))
    _rename_in_registry(identity, IMPOSTOR_NAME)
    authority_switch.up = True
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    tx.refresh_from_db()
    assert tx.refusal_code == "identity_mismatch"
    assert not Line.objects.filter(number=tx.number).exists()
    assert _snapshot(person) == before


# --- transfers ---------------------------------------------------------------------------------


def test_transfer_with_only_the_holders_document_number_does_not_pass_the_worker(
    verified, submit, citizen, authority_switch
):
    holder, identity, opening = verified
    authority_switch.up = False
    tx = submit(
        "mobile_transfer",
        line=opening.line.number,
        holder=_impostor(identity),
        new_holder=citizen(),
    )
    assert tx.state == TransactionState.PENDING_VERIFICATION
    authority_switch.up = True
    # The holder's identity as given is put to the authority, not the stored one.
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    assert Line.objects.get(pk=opening.line.pk).holder_id == holder.pk


def test_waiting_transfer_naming_a_victim_grants_the_clerk_no_look_at_them(
    verified, open_mobile, alpha_clerk, alpha, make_staff, api_client_for, consent, authority_switch
):
    victim, victim_identity, _ = verified
    accomplice_tx, accomplice = open_mobile()
    before = _snapshot(victim)
    authority_switch.up = False
    clerk_api = api_client_for(alpha_clerk)
    response = clerk_api.post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_transfer",
            "line": accomplice_tx.line.number,
            "holder": api_block(accomplice),
            "new_holder": api_block(_impostor(victim_identity)),
            "consent": {"notice": consent.notice_hash, "given": True},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
    )
    assert response.status_code == 202, response.json()
    reveal = clerk_api.post(
        f"/api/v1/persons/{victim.uid}/reveal/",
        {"reason": "checking the new holder"},
        format="json",
    )
    assert reveal.status_code == 403
    assert victim_identity.address not in reveal.content.decode()
    assert _snapshot(victim) == before
    # What the clerk may see is what they typed on their own transaction.
    tx = Transaction.objects.get(reference=response.json()["reference"])
    typed = services.transaction_identity_reveal(
        tx=tx, actor=alpha_clerk.user, reason="checking what I typed"
    )
    assert typed["name"] == IMPOSTOR_NAME
    assert typed["address"] == IMPOSTOR_ADDRESS
    other_clerk = make_staff(alpha, Role.CLERK)
    with pytest.raises(RevealNotAllowed):
        services.transaction_identity_reveal(
            tx=tx, actor=other_clerk.user, reason="checking what they typed"
        )


def test_receipt_of_a_waiting_transfer_masks_what_was_typed_not_the_victim(
    verified, open_mobile, submit, alpha_clerk, web_client_for, authority_switch
):
    from django.urls import reverse

    from identity.masking import mask_name

    victim, victim_identity, _ = verified
    accomplice_tx, accomplice = open_mobile()
    authority_switch.up = False
    tx = submit(
        "mobile_transfer",
        line=accomplice_tx.line.number,
        holder=accomplice,
        new_holder=dataclasses.replace(victim_identity, name="甲" + IMPOSTOR_NAME),
    )
    page = web_client_for(alpha_clerk).get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    assert page.status_code == 200
    content = page.content.decode()
    assert mask_name("甲" + IMPOSTOR_NAME) in content
    assert mask_name(victim_identity.name) not in content


def test_clerk_reads_the_identity_typed_on_their_waiting_transaction_over_the_api(
    submit, citizen, inventory, alpha, alpha_clerk, make_staff, api_client_for, authority_switch
):
    identity = citizen()
    authority_switch.up = False
    tx = submit("mobile_open", applicant=identity)
    url = f"/api/v1/transactions/{tx.uid}/identity/"
    mine = api_client_for(alpha_clerk)
    no_reason = mine.post(url, {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["error"]["fields"]
    response = mine.post(url, {"reason": "checking the card I typed"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == identity.name
    assert response["Cache-Control"] == "no-store"
    nul = mine.post(url, {"reason": "checking\x00the card"}, format="json")
    assert nul.status_code == 400
    assert "reason" in nul.json()["error"]["fields"]
    other = api_client_for(make_staff(alpha, Role.CLERK, store=alpha_clerk.store))
    assert other.post(url, {"reason": "curious about it"}, format="json").status_code == 403


def test_held_identity_opens_only_for_its_own_transaction_and_party(
    verified, open_mobile, submit, citizen, authority_switch
):
    from identity.crypto import DecryptionError

    _, identity, opening = verified
    authority_switch.up = False
    tx = submit("mobile_transfer", line=opening.line.number, holder=identity, new_holder=citizen())
    other = submit("mobile_open", applicant=citizen())
    tx.refresh_from_db()
    blob = bytes(tx.new_holder_identity_enc)
    assert vault.open_identity(
        tx.new_holder, context=tx.held_identity_context("new_holder"), blob=blob
    )["id_number"]
    for context in (tx.held_identity_context("holder"), other.held_identity_context("applicant")):
        with pytest.raises(DecryptionError):
            vault.open_identity(tx.new_holder, context=context, blob=blob)


# --- the line's holder on other kinds ---------------------------------------------------------


def test_waiting_service_in_the_holders_name_leaves_the_holder_alone(
    verified, submit, catalog, authority_switch
):
    holder, identity, opening = verified
    before = _snapshot(holder)
    authority_switch.up = False
    tx = submit(
        "service_add",
        line=opening.line.number,
        applicant=_impostor(identity),
        service="intl_roaming",
    )
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert _snapshot(holder) == before
    authority_switch.up = True
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    assert _snapshot(holder) == before
    assert not LineService.objects.exists()


# --- the subscriber's link ---------------------------------------------------------------------


@pytest.fixture
def running(alpha, make_staff, verified):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    person, identity, _ = verified
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Check",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    return campaign.requests.get(), person, identity


def test_wrong_answer_on_the_link_with_the_holders_number_leaves_the_holder_alone(
    running, consent, client
):
    from tests.helpers import identity_form_fields

    request, person, identity = running
    before = _snapshot(person)
    response = client.post(
        f"/r/{tokens.request_token(request.pk)}",
        {
            **identity_form_fields(_impostor(identity)),
            "consent": "on",
            "notice": consent.notice_hash,
        },
    )
    assert response.status_code == 400
    request.refresh_from_db()
    assert request.failed_attempts == 1
    assert _snapshot(person) == before


def test_right_answer_without_optional_fields_keeps_the_stored_ones(running, consent):
    request, person, identity = running
    bare = dataclasses.replace(identity, id_expiry=None, nationality=None, address=None)
    if identity.id_expiry is not None:
        # A resident card with an expiry needs it: answer with it, the rest bare.
        bare = dataclasses.replace(bare, id_expiry=identity.id_expiry)
    before = vault.open_fields(Person.objects.get(pk=person.pk))
    campaigns.request_answer(request=request, identity=bare, consent=consent)
    assert vault.open_fields(Person.objects.get(pk=person.pk)) == before
