"""The restore drill's checks (identity/restore_check.py, manage.py
restore_check): they pass on sound data and fail on what a bad backup or a bad
restore would show: a person that no longer opens (a wrong key ring, a damaged
ciphertext), a shredded person with something left to read, a key in the
backup's files. deploy/scripts/restore-drill runs them for real in CI."""

from __future__ import annotations

import base64

import pytest
from django.core.management import CommandError, call_command

from identity import restore_check, services
from identity.models import AccessLogEntry, AccessPurpose, Person

pytestmark = pytest.mark.django_db


def test_a_sample_opens_and_each_read_is_logged_before(register, make_identity):
    persons = [register(make_identity()) for _ in range(3)]
    before = AccessLogEntry.objects.count()
    result = restore_check.persons_sample_open(sample=10)
    assert (result.sampled, result.opened, result.failed) == (3, 3, [])
    entries = AccessLogEntry.objects.order_by("pk")[before:]
    assert len(entries) == 3
    assert {e.person_id for e in entries} == {p.pk for p in persons}
    assert {e.purpose for e in entries} == {AccessPurpose.MAINTENANCE}


def test_a_person_that_no_longer_opens_is_named_by_uid(register, make_identity):
    good = register(make_identity())
    bad = register(make_identity())
    blob = bytearray(bytes(bad.name_enc))
    blob[-1] ^= 0x01
    Person.objects.filter(pk=bad.pk).update(name_enc=bytes(blob))
    result = restore_check.persons_sample_open(sample=10)
    assert result.failed == [str(bad.uid)]
    assert str(good.uid) not in result.failed


def test_another_key_ring_opens_nothing(register, make_identity, settings):
    register(make_identity())
    other = base64.b64encode(b"\x07" * 32).decode()
    settings.TELEREG_KEYS = f"{settings.TELEREG_ACTIVE_KEY}:{other}"
    result = restore_check.persons_sample_open(sample=10)
    assert result.opened == 0
    assert len(result.failed) == 1


def test_shredded_persons_stay_unreadable_and_a_leftover_is_caught(register, make_identity):
    kept = register(make_identity())
    shredded = services.person_shred(person=register(make_identity()))
    assert restore_check.shredded_stay_unreadable() == restore_check.ShreddedChecked(
        shredded=1, readable=[]
    )
    # A restore that brought a ciphertext back (from an older copy) is caught.
    Person.objects.filter(pk=shredded.pk).update(address_enc=bytes(kept.address_enc))
    assert restore_check.shredded_stay_unreadable().readable == [str(shredded.uid)]


def test_key_material_is_found_as_text_and_as_raw_bytes(settings, tmp_path):
    kid, encoded = settings.TELEREG_KEYS.split(",")[0].split(":", 1)
    clean = tmp_path / "clean.sql"
    clean.write_bytes(b"COPY public.identity_person ... \\x00\\x01\n" * 1000)
    as_text = tmp_path / "text.sql"
    as_text.write_bytes(b"-- config\nTELEREG_KEYS=" + f"{kid}:{encoded}".encode() + b"\n")
    as_raw = tmp_path / "raw.bin"
    # Raw bytes across the boundary of two read chunks are still found.
    raw = base64.b64decode(settings.TELEREG_INDEX_KEY)
    as_raw.write_bytes(b"\0" * (restore_check.READ_CHUNK - 5) + raw + b"\0" * 10)
    found = restore_check.key_material_in([clean, as_text, as_raw])
    assert found == [str(as_text), str(as_raw)]


def test_the_command_passes_on_sound_data(register, make_identity, tmp_path, capsys):
    register(make_identity())
    services.person_shred(person=register(make_identity()))
    clean = tmp_path / "dump.sql"
    clean.write_text("nothing secret here\n")
    call_command("restore_check", "--require-shredded", "--scan", str(clean))
    out = capsys.readouterr().out
    assert "1 of a sample of 1 opened" in out
    assert "shredded persons: 1, 1 unreadable" in out
    assert "restore drill checks passed" in out


def test_the_command_fails_without_a_shredded_person_to_check(register, make_identity):
    register(make_identity())
    with pytest.raises(CommandError, match="no shredded person"):
        call_command("restore_check", "--require-shredded")


def test_the_command_fails_on_an_empty_database():
    with pytest.raises(CommandError, match="no person to open"):
        call_command("restore_check")


def test_the_command_fails_when_the_backup_holds_a_key(register, make_identity, settings, tmp_path):
    register(make_identity())
    leaked = tmp_path / "checkpoints.tar"
    leaked.write_text(f"signing key: {settings.TELEREG_AUDIT_SIGNING_KEY}\n")
    with pytest.raises(CommandError, match="holds key material"):
        call_command("restore_check", "--scan", str(leaked))
