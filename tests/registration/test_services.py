"""The six business kinds: each success and each refusal the rules name."""

from __future__ import annotations

import dataclasses

import pytest

from identity import vault
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.documents import IdentityInvalid
from identity.errors import ConsentRefused, ConsentRequired
from identity.models import Consent, Person, VerificationStatus
from identity.services import ConsentInput
from operators.roles import Role
from registration import services
from registration.errors import (
    CapReached,
    HolderMismatch,
    IdentityNotVerified,
    LineNotActive,
    NumberTaken,
    NumberUnknown,
    ServiceAlreadyActive,
    ServiceNotApplicable,
    StoreInactive,
)
from registration.models import (
    Line,
    LineAddress,
    LineHolding,
    LineService,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Transaction,
    TransactionState,
)
from tests.registration.conftest import declined

pytestmark = pytest.mark.django_db


# --- mobile opening -----------------------------------------------------------------


def test_mobile_opening_creates_an_active_line_with_a_claimed_number(open_mobile):
    tx, identity = open_mobile()
    assert tx.state == TransactionState.COMPLETED
    line = tx.line
    assert line.status == LineStatus.ACTIVE
    assert line.kind == "mobile"
    assert PhoneNumber.objects.get(number=line.number).status == NumberStatus.ASSIGNED
    assert line.holder.verification_status == VerificationStatus.VERIFIED
    assert LineHolding.objects.get(line=line).holder == line.holder
    assert [e.to_state for e in tx.events.all()] == ["pending_verification", "completed"]
    assert tx.reference.startswith("ALPHA-")


def test_requested_number_is_granted(open_mobile):
    tx, _ = open_mobile(number="+8613800138005")
    assert tx.line.number == "+8613800138005"


def test_requested_number_in_national_format_is_understood(open_mobile):
    tx, _ = open_mobile(number="138 0013 8006")
    assert tx.line.number == "+8613800138006"


def test_number_already_assigned_is_refused_and_the_refusal_is_recorded(open_mobile, citizen):
    open_mobile(number="+8613800138005")
    with pytest.raises(NumberTaken) as info:
        open_mobile(number="+8613800138005")
    rejected = info.value.transaction
    assert rejected.state == TransactionState.REJECTED
    assert rejected.refusal_code == "number_taken"
    assert rejected.applicant is None
    assert Line.objects.count() == 1


def test_number_outside_the_inventory_is_refused(open_mobile):
    with pytest.raises(NumberUnknown):
        open_mobile(number="+8613912345678")


def test_sixth_mobile_line_is_refused_at_cap(open_mobile, citizen):
    identity = citizen()
    for _ in range(5):
        open_mobile(identity)
    with pytest.raises(CapReached) as info:
        open_mobile(identity)
    assert "holds 5 mobile line(s)" in info.value.message
    assert "limit is 5" in info.value.message
    assert Line.objects.count() == 5


def test_cap_is_the_operators_setting(open_mobile, citizen, alpha):
    alpha.mobile_line_cap = 2
    alpha.save()
    identity = citizen()
    open_mobile(identity)
    open_mobile(identity)
    with pytest.raises(CapReached):
        open_mobile(identity)


def test_invalid_identity_stores_nothing(submit, make_identity, inventory):
    identity = make_identity()
    bad = dataclasses.replace(identity, sex="M" if identity.sex == "F" else "F")
    with pytest.raises(IdentityInvalid) as info:
        submit("mobile_open", applicant=bad)
    assert "applicant.sex" in info.value.errors
    assert not Transaction.objects.exists()
    assert not Person.objects.exists()


def test_refused_consent_stores_only_the_refusal(submit, citizen, consent, inventory):
    with pytest.raises(ConsentRefused):
        submit("mobile_open", applicant=citizen(), consent_input=declined(consent))
    assert not Person.objects.exists()
    assert Consent.objects.get().given is False
    assert not Transaction.objects.exists()


def test_consent_to_a_stale_notice_is_refused(submit, citizen, inventory):
    with pytest.raises(ConsentRequired):
        submit("mobile_open", applicant=citizen(), consent_input=ConsentInput("f" * 64, True))
    assert not Person.objects.exists()


@pytest.mark.parametrize("revoked", [False, True])
def test_identity_not_confirmed_by_the_authority_is_refused(
    submit, citizen, make_identity, inventory, revoked
):
    identity = citizen(revoked=True) if revoked else make_identity()
    with pytest.raises(IdentityNotVerified) as info:
        submit("mobile_open", applicant=identity)
    assert info.value.outcome == ("revoked" if revoked else "not_found")
    assert not Person.objects.exists()
    assert Transaction.objects.get().refusal_code == "identity_not_verified"


def test_inactive_store_cannot_take_transactions(submit, citizen, inventory, alpha_clerk):
    alpha_clerk.store.active = False
    alpha_clerk.store.save()
    with pytest.raises(StoreInactive):
        submit("mobile_open", applicant=citizen())


# --- authority unavailable -------------------------------------------------------------


class _Unavailable:
    name = "test-down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)


@pytest.fixture
def authority_down(monkeypatch):
    from identity import authority

    monkeypatch.setattr(authority, "get_backend", lambda: _Unavailable())


def test_unreachable_authority_parks_the_opening_with_the_number_reserved(
    submit, citizen, inventory, authority_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        tx = submit("mobile_open", applicant=citizen())
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert tx.line is None
    assert PhoneNumber.objects.get(number=tx.number).status == NumberStatus.RESERVED
    assert len(callbacks) == 1  # the retry task is queued after commit
    assert tx.next_verification_at is not None


def test_pending_opening_completes_when_the_authority_answers(
    submit, citizen, inventory, authority_down, monkeypatch
):
    tx = submit("mobile_open", applicant=citizen())
    from identity import authority

    monkeypatch.undo()
    assert authority.get_backend().name == "simulated"
    state = services.transaction_verify_pending(transaction_id=tx.pk)
    tx.refresh_from_db()
    assert state == TransactionState.COMPLETED
    assert tx.line.status == LineStatus.ACTIVE
    assert PhoneNumber.objects.get(number=tx.number).status == NumberStatus.ASSIGNED


def test_pending_opening_is_rejected_when_the_authority_says_no(
    submit, make_identity, inventory, authority_down, monkeypatch
):
    tx = submit("mobile_open", applicant=make_identity())  # unknown to the registry
    monkeypatch.undo()
    assert services.transaction_verify_pending(transaction_id=tx.pk) == TransactionState.REJECTED
    tx.refresh_from_db()
    assert tx.refusal_code == "identity_not_verified"
    assert PhoneNumber.objects.get(number=tx.number).status == NumberStatus.AVAILABLE
    assert not Line.objects.exists()


def test_still_unreachable_keeps_waiting_and_backs_off(submit, citizen, inventory, authority_down):
    tx = submit("mobile_open", applicant=citizen())
    first_due = tx.next_verification_at
    assert services.transaction_verify_pending(transaction_id=tx.pk) == "pending_verification"
    tx.refresh_from_db()
    assert tx.verification_attempts == 1
    assert tx.next_verification_at > first_due


def test_waiting_transactions_count_toward_the_cap(
    submit, citizen, inventory, authority_down, alpha
):
    alpha.mobile_line_cap = 1
    alpha.save()
    identity = citizen()
    submit("mobile_open", applicant=identity)
    with pytest.raises(CapReached):
        submit("mobile_open", applicant=identity)


def test_cancel_releases_the_reserved_number(
    submit, citizen, inventory, authority_down, alpha_clerk
):
    tx = submit("mobile_open", applicant=citizen())
    services.transaction_cancel(tx=tx, actor=alpha_clerk.user)
    tx.refresh_from_db()
    assert tx.state == TransactionState.CANCELLED
    assert PhoneNumber.objects.get(number=tx.number).status == NumberStatus.AVAILABLE
    assert services.transaction_verify_pending(transaction_id=tx.pk) == "cancelled"


# --- landline installation and relocation -------------------------------------------------


def _install(submit, citizen, address="北京市朝阳区安装路1号"):
    identity = citizen()
    tx = submit("landline_install", applicant=identity, installation_address=address)
    return tx, identity


def test_landline_installation_stores_the_address_encrypted(submit, citizen, inventory):
    tx, _ = _install(submit, citizen)
    line = tx.line
    assert line.kind == "landline"
    assert line.number.startswith("+8610")
    assert b"\xe5\xae\x89\xe8\xa3\x85" not in bytes(line.installation_address_enc)  # "安装"
    from registration.selectors import line_masked_address

    assert line_masked_address(line) == "北京市朝阳区***"


def test_landline_installation_needs_an_address(submit, citizen, inventory):
    with pytest.raises(IdentityInvalid) as info:
        submit("landline_install", applicant=citizen())
    assert "installation_address" in info.value.errors


def test_relocation_by_the_holder_moves_the_address_and_keeps_history(submit, citizen, inventory):
    tx, identity = _install(submit, citizen)
    moved = submit(
        "landline_relocate",
        applicant=identity,
        line=tx.line.number,
        installation_address="上海市浦东新区新址路9号",
    )
    assert moved.state == TransactionState.COMPLETED
    addresses = list(LineAddress.objects.filter(line=tx.line).order_by("started_at"))
    assert len(addresses) == 2
    assert addresses[0].ended_at is not None
    assert addresses[1].ended_at is None
    from registration.selectors import line_masked_address

    tx.line.refresh_from_db()
    assert line_masked_address(tx.line) == "上海市浦东新区***"


def test_relocation_by_someone_else_is_refused(submit, citizen, inventory):
    tx, _ = _install(submit, citizen)
    with pytest.raises(HolderMismatch):
        submit(
            "landline_relocate",
            applicant=citizen(),
            line=tx.line.number,
            installation_address="上海市浦东新区新址路9号",
        )
    assert LineAddress.objects.filter(line=tx.line).count() == 1


# --- transfers -------------------------------------------------------------------------------


def test_mobile_transfer_moves_the_line_and_keeps_the_number_and_history(
    open_mobile, submit, citizen
):
    tx, holder = open_mobile()
    new_holder = citizen()
    moved = submit("mobile_transfer", line=tx.line.number, holder=holder, new_holder=new_holder)
    line = Line.objects.get(pk=tx.line.pk)
    assert moved.state == TransactionState.COMPLETED
    assert line.number == tx.line.number
    assert vault.open_fields(line.holder, ["name"]) == {"name": new_holder.name}
    holdings = list(LineHolding.objects.filter(line=line).order_by("started_at"))
    assert [h.ended_at is None for h in holdings] == [False, True]
    old = Person.objects.get(pk=tx.applicant_id)
    assert old.lines_held == 0
    assert old.last_line_closed_at is not None


def test_transfer_with_wrong_current_holder_is_refused(open_mobile, submit, citizen):
    tx, _ = open_mobile()
    with pytest.raises(HolderMismatch):
        submit("mobile_transfer", line=tx.line.number, holder=citizen(), new_holder=citizen())
    assert Line.objects.get(pk=tx.line.pk).holder_id == tx.applicant_id


def test_transfer_to_someone_at_cap_is_refused(open_mobile, submit, citizen, alpha):
    alpha.mobile_line_cap = 1
    alpha.save()
    tx, holder = open_mobile()
    busy = citizen()
    open_mobile(busy)
    with pytest.raises(CapReached):
        submit("mobile_transfer", line=tx.line.number, holder=holder, new_holder=busy)


def test_landline_transfer_reencrypts_the_address_for_the_new_holder(submit, citizen, inventory):
    tx, holder = _install(submit, citizen)
    new_holder = citizen()
    submit("landline_transfer", line=tx.line.number, holder=holder, new_holder=new_holder)
    line = Line.objects.get(pk=tx.line.pk)
    from registration.selectors import line_masked_address

    assert line_masked_address(line) == "北京市朝阳区***"
    assert LineAddress.objects.get(line=line, ended_at__isnull=True).holder == line.holder


def test_transfer_of_a_suspended_line_is_refused(open_mobile, submit, citizen):
    tx, holder = open_mobile()
    Line.objects.filter(pk=tx.line.pk).update(status=LineStatus.SUSPENDED)
    with pytest.raises(LineNotActive):
        submit("mobile_transfer", line=tx.line.number, holder=holder, new_holder=citizen())


# --- added services ----------------------------------------------------------------------------


def test_service_added_by_the_holder(open_mobile, submit, catalog):
    tx, holder = open_mobile()
    added = submit("service_add", line=tx.line.number, applicant=holder, service="intl_roaming")
    assert added.state == TransactionState.COMPLETED
    assert LineService.objects.get(line=tx.line).service.code == "intl_roaming"


def test_service_already_active_is_refused(open_mobile, submit, catalog):
    tx, holder = open_mobile()
    submit("service_add", line=tx.line.number, applicant=holder, service="intl_roaming")
    with pytest.raises(ServiceAlreadyActive):
        submit("service_add", line=tx.line.number, applicant=holder, service="intl_roaming")


def test_service_for_another_line_kind_is_refused(submit, citizen, inventory, catalog):
    tx, holder = _install(submit, citizen)
    with pytest.raises(ServiceNotApplicable):
        submit("service_add", line=tx.line.number, applicant=holder, service="intl_roaming")


def test_service_by_someone_other_than_the_holder_is_refused(open_mobile, submit, citizen, catalog):
    tx, _ = open_mobile()
    with pytest.raises(HolderMismatch):
        submit("service_add", line=tx.line.number, applicant=citizen(), service="intl_roaming")


def test_barred_line_accepts_no_added_service(open_mobile, submit, catalog):
    tx, holder = open_mobile()
    Line.objects.filter(pk=tx.line.pk).update(status=LineStatus.BARRED_OUTGOING)
    with pytest.raises(LineNotActive):
        submit("service_add", line=tx.line.number, applicant=holder, service="intl_roaming")


# --- who may do what ------------------------------------------------------------------------------


def test_clerk_handling_a_waiting_transaction_sees_what_they_typed_never_the_person(
    submit, citizen, inventory, authority_down, alpha_clerk, alpha, make_staff
):
    from identity.errors import RevealNotAllowed
    from identity.models import AccessLogEntry
    from identity.services import can_reveal

    identity = citizen()
    tx = submit("mobile_open", applicant=identity)
    assert not can_reveal(alpha_clerk.user, tx.applicant)
    typed = services.transaction_identity_reveal(
        tx=tx, actor=alpha_clerk.user, reason="checking the applicant's card"
    )
    assert typed["name"] == identity.name
    assert AccessLogEntry.objects.filter(
        person=tx.applicant, actor=alpha_clerk.user, purpose="registration"
    ).exists()
    other_clerk = make_staff(alpha, Role.CLERK)
    with pytest.raises(RevealNotAllowed):
        services.transaction_identity_reveal(
            tx=tx, actor=other_clerk.user, reason="checking the applicant's card"
        )
    services.transaction_cancel(tx=tx, actor=alpha_clerk.user)
    with pytest.raises(RevealNotAllowed):
        services.transaction_identity_reveal(
            tx=tx, actor=alpha_clerk.user, reason="checking the applicant's card"
        )


def test_transfer_to_the_current_holder_is_refused(open_mobile, submit):
    from registration.errors import TransferToSelf

    tx, holder = open_mobile()
    with pytest.raises(TransferToSelf):
        submit("mobile_transfer", line=tx.line.number, holder=holder, new_holder=holder)
    assert LineHolding.objects.filter(line=tx.line).count() == 1


def test_a_broker_outage_after_commit_does_not_fail_the_opening(
    submit, citizen, inventory, monkeypatch, django_capture_on_commit_callbacks
):
    from registration import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.send_holder_alert, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        tx = submit("mobile_open", applicant=citizen())
    assert tx.state == TransactionState.COMPLETED
