"""Persons: consent first, one per document, encrypted, versioned, shredded."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.db import transaction

from identity import selectors, services, vault
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.errors import (
    ConsentRefused,
    ConsentRequired,
    IdentityMismatch,
    NoCurrentNotice,
    PersonShredded,
)
from identity.models import Consent, Person, PersonVersion, VerificationStatus
from identity.services import ConsentInput
from tests.factories import OperatorFactory
from tests.helpers import all_text_in_database

pytestmark = pytest.mark.django_db


def test_registered_person_reads_back_masked_and_encrypted(register, make_identity):
    identity = make_identity()
    person = register(identity)
    masked = selectors.person_masked(person)
    assert masked["name"][0] == identity.name[0]
    assert identity.name not in masked["name"]
    assert identity.id_number not in masked["id_number"]
    assert bytes(person.name_enc) != identity.name.encode()
    assert vault.open_fields(person, ["name"]) == {"name": identity.name}


def test_second_registration_of_same_document_reuses_the_person(register, make_identity):
    identity = make_identity()
    first = register(identity)
    second = register(identity)
    assert first.pk == second.pk
    assert Person.objects.count() == 1
    assert Consent.objects.filter(person=first, given=True).count() == 2


def test_lowercase_x_and_spaces_find_the_same_person(register, make_identity):
    identity = make_identity()
    person = register(identity)
    variant = identity.id_number.lower()
    variant = variant[:6] + " " + variant[6:]
    found = selectors.person_find(
        operator=person.operator, id_type=identity.id_type, id_number=variant
    )
    assert found == person


def test_same_document_at_another_operator_is_another_person(
    register, make_identity, publish_notice
):
    other = OperatorFactory(code="gamma")
    notice = publish_notice(other)
    identity = make_identity()
    mine = register(identity)
    theirs = services.person_register(
        operator=other,
        identity=identity,
        consent=ConsentInput(notice.content_hash, True),
        channel="api",
        actor=None,
    )
    assert mine.pk != theirs.pk


def _match() -> AuthorityResult:
    return AuthorityResult(Outcome.MATCH, "TEST-1", utc_now(), "test")


def test_changed_address_on_a_matched_reregistration_is_versioned(
    register, make_identity, alpha, consent, alpha_clerk
):
    identity = make_identity(address="北京市朝阳区测试路1号")
    person = register(identity)
    services.person_register(
        operator=alpha,
        identity=replace(identity, address="北京市海淀区样例路2号"),
        consent=consent,
        channel="store",
        actor=alpha_clerk.user,
        verification=_match(),
    )
    person.refresh_from_db()
    assert person.version == 2
    version = PersonVersion.objects.get(person=person)
    assert version.changed_fields == ["address"]
    assert version.actor == alpha_clerk.user
    assert vault.decrypt_values(person, version.previous) == {"address": "北京市朝阳区测试路1号"}
    assert person.verification_status == VerificationStatus.VERIFIED


def test_reregistration_the_authority_has_not_matched_changes_nothing_stored(
    register, make_identity
):
    identity = make_identity()
    person = register(identity)
    before = vault.open_fields(Person.objects.get(pk=person.pk))
    register(replace(identity, name="另一个人", address="北京市海淀区样例路2号"))
    person.refresh_from_db()
    assert vault.open_fields(person) == before
    assert person.version == 1
    assert not PersonVersion.objects.exists()


def test_verified_persons_name_is_not_overwritten_by_a_matched_other_name(
    alpha, consent, make_identity
):
    identity = make_identity()
    person = services.person_register(
        operator=alpha,
        identity=identity,
        consent=consent,
        channel="api",
        actor=None,
        verification=_match(),
    )
    # Raised under the person's lock: the caller's transaction rolls back.
    with pytest.raises(IdentityMismatch), transaction.atomic():
        services.person_register(
            operator=alpha,
            identity=replace(identity, name="另一个人"),
            consent=consent,
            channel="api",
            actor=None,
            verification=_match(),
        )
    person.refresh_from_db()
    assert vault.open_fields(person, ["name"]) == {"name": identity.name}


def test_reregistering_a_shredded_document_unverified_starts_never_verified(
    alpha, consent, make_identity
):
    identity = make_identity()
    person = services.person_register(
        operator=alpha,
        identity=identity,
        consent=consent,
        channel="api",
        actor=None,
        verification=_match(),
    )
    services.person_shred(person=person)
    again = services.person_register(
        operator=alpha, identity=identity, consent=consent, channel="api", actor=None
    )
    again.refresh_from_db()
    # The blind index went with the data key: the document makes a new person.
    assert again.pk != person.pk
    person.refresh_from_db()
    assert person.is_shredded
    assert person.doc_index != again.doc_index
    assert again.verification_status == VerificationStatus.NEVER
    assert again.verified_at is None


def test_refused_consent_stores_no_person(alpha, consent, make_identity):
    with pytest.raises(ConsentRefused):
        services.person_register(
            operator=alpha,
            identity=make_identity(),
            consent=ConsentInput(consent.notice_hash, False),
            channel="store",
            actor=None,
        )
    assert Person.objects.count() == 0


def test_refusal_record_holds_no_person(alpha, consent):
    record = services.consent_refusal_record(
        operator=alpha,
        consent=ConsentInput(consent.notice_hash, False),
        channel="store",
        actor=None,
        store=None,
    )
    assert record.given is False
    assert record.person is None


def test_consent_to_an_old_notice_version_is_refused(
    alpha, alpha_notice, publish_notice, make_identity
):
    publish_notice(alpha, purpose="A new purpose statement for version two.")
    with pytest.raises(ConsentRequired) as info:
        services.person_register(
            operator=alpha,
            identity=make_identity(),
            consent=ConsentInput(alpha_notice.content_hash, True),
            channel="store",
            actor=None,
        )
    assert "consent.notice" in info.value.fields
    assert Person.objects.count() == 0


def test_no_published_notice_means_no_collection(alpha, make_identity):
    with pytest.raises(NoCurrentNotice):
        services.person_register(
            operator=alpha,
            identity=make_identity(),
            consent=ConsentInput("0" * 64, True),
            channel="store",
            actor=None,
        )
    assert Person.objects.count() == 0


def test_shredded_person_cannot_be_read_anymore(register, make_identity):
    person = register(make_identity())
    services.person_shred(person=person)
    person.refresh_from_db()
    assert person.wrapped_key is None
    with pytest.raises(PersonShredded):
        vault.open_fields(person, ["name"])
    assert selectors.person_masked(person)["name"] == "(erased)"


def test_a_ciphertext_copied_to_another_person_does_not_decrypt(register, make_identity):
    from identity.crypto import DecryptionError

    a = register(make_identity())
    b = register(make_identity())
    b.name_enc = a.name_enc
    with pytest.raises(DecryptionError):
        vault.open_fields(b, ["name"])


def test_raw_sql_over_every_table_finds_no_name_number_or_address_in_clear(
    register, make_identity, citizen, alpha, alpha_clerk
):
    identities = [citizen(address=f"上海市浦东新区样例路{n}号") for n in range(5)]
    for identity in identities:
        services.identity_check(operator=alpha, identity=identity, actor=alpha_clerk.user)
        register(identity)
    dump = all_text_in_database()
    for identity in identities:
        assert identity.name not in dump
        assert identity.id_number not in dump
        assert identity.address not in dump
        assert identity.date_of_birth.isoformat() not in dump
