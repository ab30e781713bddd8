"""Issue 17: data moving between AES-256-GCM and SM4-GCM with rotate_keys, and the blind
index re-computed under HMAC-SM3 with reindex_documents (PostgreSQL, real rows)."""

from __future__ import annotations

import base64

import pytest
from django.core.management import CommandError, call_command

from identity import access_log, crypto, selectors, services, vault
from identity.models import (
    ENCRYPTED_FIELDS,
    AccessLogEntry,
    AccessPurpose,
    CorrectionRequest,
    Person,
    PersonVersion,
)

pytestmark = pytest.mark.django_db

T1 = "t1:" + base64.b64encode(b"\x01" * 32).decode()  # config.settings.test's AES key
SM4 = "g1:sm4-gcm:" + base64.b64encode(b"\x09" * 16).decode()
INDEX_SHA = base64.b64encode(b"\x02" * 32).decode()  # config.settings.test's index key
AES_AS_G1 = "g1:" + base64.b64encode(b"\x0b" * 32).decode()
INDEX_SM3 = "hmac-sm3:" + base64.b64encode(b"\x0a" * 32).decode()


def _ring(settings, *, active: str, keys: str = f"{T1},{SM4}") -> None:
    settings.TELEREG_KEYS = keys
    settings.TELEREG_ACTIVE_KEY = active


def _ciphers(person: Person) -> set[str]:
    person.refresh_from_db()
    blobs = [getattr(person, f"{name}_enc") for name in ENCRYPTED_FIELDS]
    return {crypto.cipher_of(bytes(blob)) for blob in blobs if blob is not None}


def _assert_reads_and_is_found(person: Person, identity, alpha) -> None:
    person.refresh_from_db()
    assert vault.open_fields(person, ["name", "id_number", "date_of_birth"]) == {
        "name": identity.name,
        "id_number": identity.id_number,
        "date_of_birth": identity.date_of_birth.isoformat(),
    }
    found = selectors.person_find(
        operator=alpha, id_type=identity.id_type, id_number=identity.id_number
    )
    assert found is not None
    assert found.pk == person.pk


def test_new_persons_under_an_sm4_key_have_every_field_sealed_with_sm4(
    register, make_identity, settings, alpha
):
    _ring(settings, active="g1")
    identity = make_identity(address="北京市朝阳区建国路88号")
    person = register(identity)
    assert person.key_id == "g1"
    assert crypto.cipher_of(bytes(person.wrapped_key)) == crypto.SM4_GCM
    assert _ciphers(person) == {crypto.SM4_GCM}
    _assert_reads_and_is_found(person, identity, alpha)
    assert vault.open_fields(person, ["address"]) == {"address": "北京市朝阳区建国路88号"}
    # A value sealed on another app's row follows the person's cipher too.
    blob = services.value_seal(person=person, context="line:1", field="address", value="x")
    assert crypto.cipher_of(blob) == crypto.SM4_GCM


def test_rotate_aes_to_sm4_and_back_re_encrypts_and_everyone_still_reads_and_is_found(
    register, make_identity, settings, alpha, alpha_clerk, alpha_compliance, capsys
):
    identities = [make_identity() for _ in range(5)]
    persons = [register(i) for i in identities]
    # A version (the old address, sealed under AES) and a pending correction proposal.
    changed = persons[0]
    correction = services.correction_request_create(
        person=changed, values={"address": "上海市新地址1号"}, actor=alpha_clerk.user
    )
    services.correction_decide(correction=correction, approve=True, actor=alpha_compliance.user)
    proposal = services.correction_request_create(
        person=changed, values={"address": "上海市新地址2号"}, actor=alpha_clerk.user
    )
    shredded = services.person_shred(person=persons.pop())
    identities.pop()
    updated_at = {p.pk: Person.objects.get(pk=p.pk).updated_at for p in persons}
    assert all(_ciphers(p) == {crypto.AES_256_GCM} for p in persons)
    logged_before = AccessLogEntry.objects.filter(purpose=AccessPurpose.MAINTENANCE).count()

    # AES -> SM4.
    _ring(settings, active="g1")
    call_command("rotate_keys", batch_size=3)
    out = capsys.readouterr().out
    assert "done: 4 re-wrapped with g1 (sm4-gcm), 4 of them re-encrypted; 0 remaining" in out
    for person in persons:
        assert _ciphers(person) == {crypto.SM4_GCM}
        assert person.key_id == "g1"
        assert crypto.cipher_of(bytes(person.wrapped_key)) == crypto.SM4_GCM
        assert person.updated_at == updated_at[person.pk]
    version = PersonVersion.objects.get(person=changed)
    assert {crypto.cipher_of(base64.b64decode(v)) for v in version.previous.values()} == {
        crypto.SM4_GCM
    }
    proposal.refresh_from_db()
    assert crypto.cipher_of(base64.b64decode(proposal.proposed["address"])) == crypto.SM4_GCM
    # Each re-encrypted person was logged as a maintenance read, naming the tool.
    entries = AccessLogEntry.objects.filter(purpose=AccessPurpose.MAINTENANCE)
    assert entries.count() == logged_before + 4
    assert set(entries.values_list("actor_label", flat=True)) == {"rotate_keys"}
    # Written in one INSERT per batch, the entries chain as if appended one by one.
    assert [e.seq for e in entries.order_by("seq")] == sorted({e.seq for e in entries})
    assert access_log.verify_report().intact
    # With the AES key gone, everything still reads and is found: it is all SM4 now.
    _ring(settings, active="g1", keys=SM4)
    for person, identity in zip(persons, identities, strict=True):
        _assert_reads_and_is_found(person, identity, alpha)
    assert vault.open_fields(changed, ["address"]) == {"address": "上海市新地址1号"}
    assert vault.decrypt_values(changed, version.previous)["address"] == identities[0].address
    assert vault.decrypt_values(changed, proposal.proposed) == {"address": "上海市新地址2号"}
    shredded.refresh_from_db()
    assert shredded.wrapped_key is None

    # SM4 -> AES.
    _ring(settings, active="t1")
    assert services.keys_rotate(batch_size=2) == 4
    _ring(settings, active="t1", keys=T1)
    for person, identity in zip(persons, identities, strict=True):
        assert _ciphers(person) == {crypto.AES_256_GCM}
        assert person.key_id == "t1"
        assert person.updated_at == updated_at[person.pk]
        _assert_reads_and_is_found(person, identity, alpha)
    version.refresh_from_db()
    proposal.refresh_from_db()
    assert vault.decrypt_values(changed, version.previous)["address"] == identities[0].address
    assert vault.decrypt_values(changed, proposal.proposed) == {"address": "上海市新地址2号"}
    # The approved correction still applies the SM4-era... now AES proposal.
    services.correction_decide(correction=proposal, approve=True, actor=alpha_compliance.user)
    changed.refresh_from_db()
    assert vault.open_fields(changed, ["address"]) == {"address": "上海市新地址2号"}
    assert CorrectionRequest.objects.filter(person=changed).count() == 2


def test_rotation_within_a_family_does_not_re_encrypt_or_log(register, make_identity, settings):
    persons = [register(make_identity()) for _ in range(3)]
    blobs = {p.pk: bytes(Person.objects.get(pk=p.pk).name_enc) for p in persons}
    aes2 = "t2:" + base64.b64encode(b"\x03" * 32).decode()
    _ring(settings, active="t2", keys=f"{T1},{aes2}")
    before = AccessLogEntry.objects.count()
    stats: dict[str, int] = {}
    assert services.keys_rotate(stats=stats) == 3
    assert stats == {"reencrypted": 0}
    assert AccessLogEntry.objects.count() == before
    for person in persons:
        person.refresh_from_db()
        assert bytes(person.name_enc) == blobs[person.pk]
        assert person.key_id == "t2"


def test_an_interrupted_aes_to_sm4_rotation_resumes_and_mixed_data_reads_meanwhile(
    register, make_identity, settings, alpha
):
    identities = [make_identity() for _ in range(5)]
    persons = [register(i) for i in identities]
    _ring(settings, active="g1")

    def stop_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.keys_rotate(batch_size=2, progress=stop_after_first_batch)
    moved = Person.objects.filter(key_id="g1").order_by("pk")
    assert [p.pk for p in moved] == [persons[0].pk, persons[1].pk]
    # Half SM4, half AES: every person reads and is found, and new values of a person
    # follow their own key's cipher.
    for person, identity in zip(persons, identities, strict=True):
        _assert_reads_and_is_found(person, identity, alpha)
    assert _ciphers(persons[0]) == {crypto.SM4_GCM}
    assert _ciphers(persons[4]) == {crypto.AES_256_GCM}
    assert (
        crypto.cipher_of(services.value_seal(person=persons[4], context="c", field="f", value="v"))
        == crypto.AES_256_GCM
    )

    stats: dict[str, int] = {}
    assert services.keys_rotate(batch_size=2, stats=stats) == 3
    assert stats == {"reencrypted": 3}
    assert services.keys_rotate(batch_size=2) == 0  # idempotent: nothing left
    for person, identity in zip(persons, identities, strict=True):
        assert _ciphers(person) == {crypto.SM4_GCM}
        _assert_reads_and_is_found(person, identity, alpha)


def test_a_missing_key_id_stops_rotation_with_a_clear_error_and_changes_nothing(
    register, make_identity, settings
):
    persons = [register(make_identity()) for _ in range(3)]
    before = {p.pk: bytes(Person.objects.get(pk=p.pk).wrapped_key) for p in persons}
    # The AES key t1 left the ring before its persons were rotated.
    _ring(settings, active="g1", keys=SM4)
    with pytest.raises(CommandError) as caught:
        call_command("rotate_keys", batch_size=10)
    message = str(caught.value)
    assert "key id 't1' is not in the key ring" in message
    assert "rolled back" in message
    assert base64.b64encode(b"\x01" * 32).decode() not in message
    for person in persons:
        person.refresh_from_db()
        assert bytes(person.wrapped_key) == before[person.pk]
        assert person.key_id == "t1"
    # And reading such a person fails closed too, naming the key id.
    with pytest.raises(crypto.DecryptionError, match="'t1' is not in the key ring"):
        vault.open_fields(persons[0], ["name"])
    with pytest.raises(crypto.DecryptionError, match="'t1' is not in the key ring"):
        services.value_seal(person=persons[0], context="c", field="f", value="v")


def test_a_key_id_reused_with_another_cipher_fails_closed(register, make_identity, settings):
    _ring(settings, active="g1")
    person = register(make_identity())
    # g1 now names an AES key: the person's SM4-wrapped key must not be opened with it.
    _ring(settings, active="g1", keys=f"{T1},{AES_AS_G1}")
    person.refresh_from_db()
    with pytest.raises(crypto.DecryptionError, match="configured as aes-256-gcm"):
        vault.open_fields(person, ["name"])
    with pytest.raises(crypto.DecryptionError, match="configured as aes-256-gcm"):
        services.value_seal(person=person, context="c", field="f", value="v")


# --- Blind index under HMAC-SM3 ---------------------------------------------------------


def test_persons_registered_under_an_sm3_index_are_found_and_stamped(
    register, make_identity, settings, alpha
):
    settings.TELEREG_INDEX_KEY = INDEX_SM3
    _ring(settings, active="g1")
    identity = make_identity()
    person = register(identity)
    assert person.index_key_id.startswith("hmac-sm3:")
    _assert_reads_and_is_found(person, identity, alpha)
    # Registering the same document again finds the same person (one per document).
    assert register(identity).pk == person.pk


def test_reindex_moves_the_blind_index_to_sm3_and_back_resumably_and_logged(
    register, make_identity, settings, alpha, capsys
):
    identities = [make_identity() for _ in range(5)]
    persons = [register(i) for i in identities]
    gone = services.person_shred(person=register(make_identity()))
    old = {p.pk: Person.objects.get(pk=p.pk).doc_index for p in persons}
    updated_at = {p.pk: Person.objects.get(pk=p.pk).updated_at for p in persons}
    assert {Person.objects.get(pk=p.pk).index_key_id for p in persons} == {
        crypto.KeyRing.from_settings().index_key_id
    }

    settings.TELEREG_INDEX_KEY = INDEX_SM3
    # Until re-indexed, the look-up under the new key misses them.
    assert (
        selectors.person_find(
            operator=alpha, id_type=identities[0].id_type, id_number=identities[0].id_number
        )
        is None
    )
    call_command("reindex_documents", "--check")
    assert "5 to re-index" in capsys.readouterr().out

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.document_reindex(batch_size=2, progress=stop)
    assert services.document_reindex_pending() == 3  # the first batch committed

    call_command("reindex_documents", batch_size=2)
    assert "done: 3 re-indexed, 0 conflicts; 0 remaining" in capsys.readouterr().out
    for person, identity in zip(persons, identities, strict=True):
        person.refresh_from_db()
        assert person.doc_index != old[person.pk]
        assert person.index_key_id.startswith("hmac-sm3:")
        assert person.updated_at == updated_at[person.pk]
        _assert_reads_and_is_found(person, identity, alpha)
    gone.refresh_from_db()
    assert gone.doc_index.startswith("erased:")  # a shredded person is not read
    entries = AccessLogEntry.objects.filter(actor_label="reindex_documents")
    assert entries.count() == 5
    assert {tuple(e.fields) for e in entries} == {("id_number",)}
    assert set(entries.values_list("purpose", flat=True)) == {AccessPurpose.MAINTENANCE}
    assert services.document_reindex().reindexed == 0  # nobody read twice
    assert AccessLogEntry.objects.filter(actor_label="reindex_documents").count() == 5

    # And back to HMAC-SHA256 (the test settings' key): the original indexes return.
    settings.TELEREG_INDEX_KEY = INDEX_SHA
    assert services.document_reindex().reindexed == 5
    for person, identity in zip(persons, identities, strict=True):
        person.refresh_from_db()
        assert person.doc_index == old[person.pk]
        _assert_reads_and_is_found(person, identity, alpha)


def test_reindex_reports_a_document_registered_again_meanwhile_as_a_conflict(
    register, make_identity, settings, alpha
):
    identity = make_identity()
    first = register(identity)
    settings.TELEREG_INDEX_KEY = INDEX_SM3
    # Registered again before the re-index: the look-up could not find the first.
    second = register(identity)
    assert second.pk != first.pk
    result = services.document_reindex()
    assert (result.reindexed, result.conflicts, result.remaining) == (0, 1, 1)
    first.refresh_from_db()
    assert not first.index_key_id.startswith("hmac-sm3:")  # left as it was, for a merge


def test_a_value_on_another_apps_row_reads_after_rotation_and_can_be_resealed(
    register, make_identity, settings
):
    person = register(make_identity())
    blob = services.value_seal(person=person, context="line:7", field="address", value="某地1号")
    assert crypto.cipher_of(blob) == crypto.AES_256_GCM
    _ring(settings, active="g1")
    assert services.keys_rotate() == 1
    person.refresh_from_db()
    # Still AES (its header says so) and still readable under the person's SM4-wrapped key.
    assert services.value_open(person=person, context="line:7", field="address", blob=blob) == (
        "某地1号"
    )
    resealed = services.value_reseal(person=person, context="line:7", field="address", blob=blob)
    assert crypto.cipher_of(resealed) == crypto.SM4_GCM
    assert (
        services.value_reseal(person=person, context="line:7", field="address", blob=resealed)
        == resealed
    )
    assert (
        services.value_open(person=person, context="line:7", field="address", blob=resealed)
        == "某地1号"
    )
    with pytest.raises(crypto.DecryptionError):
        services.value_reseal(person=person, context="line:8", field="address", blob=blob)
