"""Retention shreds persons past the term; key rotation re-wraps data keys."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from identity import services, vault
from identity.crypto import DecryptionError
from identity.models import ENCRYPTED_FIELDS, AccessLogEntry, AccessPurpose, Person
from identity.tasks import retention_run

pytestmark = pytest.mark.django_db


def test_retention_shreds_only_persons_past_the_term(register, make_identity, alpha):
    now = timezone.now()
    gone = register(make_identity())
    recent = register(make_identity())
    holder = register(make_identity())
    Person.objects.filter(pk=gone.pk).update(last_line_closed_at=now - dt.timedelta(days=800))
    Person.objects.filter(pk=recent.pk).update(last_line_closed_at=now - dt.timedelta(days=30))
    Person.objects.filter(pk=holder.pk).update(
        lines_held=1, last_line_closed_at=now - dt.timedelta(days=900)
    )
    assert retention_run() == 1
    gone.refresh_from_db()
    recent.refresh_from_db()
    holder.refresh_from_db()
    assert gone.is_shredded
    assert gone.wrapped_key is None
    assert not recent.is_shredded
    assert not holder.is_shredded
    assert AccessLogEntry.objects.filter(person=gone, purpose=AccessPurpose.RETENTION).count() == 1
    assert retention_run() == 0  # idempotent


def test_retention_term_is_the_operators_setting(register, make_identity, alpha):
    person = register(make_identity())
    Person.objects.filter(pk=person.pk).update(
        last_line_closed_at=timezone.now() - dt.timedelta(days=40)
    )
    assert services.retention_run() == 0
    alpha.retention_days = 30
    alpha.save()
    assert services.retention_run() == 1


def _ring_with_new_key(settings) -> None:
    new_key = base64.b64encode(b"\x03" * 32).decode()
    settings.TELEREG_KEYS = f"{settings.TELEREG_KEYS},t2:{new_key}"
    settings.TELEREG_ACTIVE_KEY = "t2"


def test_rotate_keys_rewraps_every_person_and_data_still_reads(
    register, make_identity, settings, capsys
):
    identities = [make_identity() for _ in range(7)]
    persons = [register(i) for i in identities]
    assert {p.key_id for p in persons} == {"t1"}
    _ring_with_new_key(settings)
    call_command("rotate_keys", batch_size=3)
    out = capsys.readouterr().out
    assert "re-wrapped 3/7" in out
    assert "0 remaining" in out
    for person, identity in zip(persons, identities, strict=True):
        person.refresh_from_db()
        assert person.key_id == "t2"
        assert vault.open_fields(person, ["name"]) == {"name": identity.name}
    # With the old key gone from the ring, everything still decrypts.
    settings.TELEREG_KEYS = settings.TELEREG_KEYS.split(",", 1)[1]
    for person, identity in zip(persons, identities, strict=True):
        assert vault.open_fields(person, ["id_number"]) == {"id_number": identity.id_number}


def test_rotate_keys_resumes_after_an_interruption(register, make_identity, settings):
    persons = [register(make_identity()) for _ in range(5)]
    _ring_with_new_key(settings)
    calls = []

    def stop_after_first_batch(done: int, total: int) -> None:
        calls.append(done)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.keys_rotate(batch_size=2, progress=stop_after_first_batch)
    assert Person.objects.filter(key_id="t2").count() == 2  # the first batch committed
    assert services.keys_rotate(batch_size=2) == 3
    assert Person.objects.filter(key_id="t2").count() == len(persons)


def _key_and_fields(person: Person) -> tuple:
    person.refresh_from_db()
    blobs = tuple(
        None if getattr(person, f"{name}_enc") is None else bytes(getattr(person, f"{name}_enc"))
        for name in ENCRYPTED_FIELDS
    )
    wrapped = None if person.wrapped_key is None else bytes(person.wrapped_key)
    return wrapped, person.key_id, blobs, person.updated_at


def test_keys_rotate_rewraps_only_old_data_keys_and_never_touches_fields(
    register, make_identity, settings
):
    identities = [make_identity() for _ in range(5)]
    persons = [register(i) for i in identities]
    shredded = services.person_shred(person=persons.pop())
    identities.pop()
    _ring_with_new_key(settings)
    current_identity = make_identity()
    current = register(current_identity)  # registered under the new key already
    before = {p.pk: _key_and_fields(p) for p in [*persons, current, shredded]}
    calls = []

    assert services.keys_rotate(batch_size=3, progress=lambda *a: calls.append(a)) == 4

    assert calls == [(3, 4), (4, 4)]
    for person in persons:
        wrapped, key_id, blobs, updated_at = _key_and_fields(person)
        old_wrapped, _old_kid, old_blobs, old_updated_at = before[person.pk]
        assert key_id == "t2"
        assert wrapped != old_wrapped
        assert (blobs, updated_at) == (old_blobs, old_updated_at)
    assert _key_and_fields(current) == before[current.pk]
    assert _key_and_fields(shredded) == before[shredded.pk]
    # The old key can go: every person still decrypts, through the new key alone.
    settings.TELEREG_KEYS = settings.TELEREG_KEYS.split(",", 1)[1]
    for person, identity in zip([*persons, current], [*identities, current_identity], strict=True):
        person.refresh_from_db()
        assert vault.open_fields(person, ["name", "id_number"]) == {
            "name": identity.name,
            "id_number": identity.id_number,
        }
    assert services.keys_rotate() == 0  # nothing left: idempotent


def test_keys_rotate_failure_rolls_back_its_batch_and_a_rerun_finishes(
    register, make_identity, settings
):
    persons = [register(make_identity()) for _ in range(5)]
    good = bytes(persons[2].wrapped_key)
    broken = good[:-1] + bytes([good[-1] ^ 1])
    Person.objects.filter(pk=persons[2].pk).update(wrapped_key=broken)
    _ring_with_new_key(settings)

    with pytest.raises(DecryptionError):
        services.keys_rotate(batch_size=2)
    # The first batch committed; the failing one wrote nothing.
    rotated = set(Person.objects.filter(key_id="t2").values_list("pk", flat=True))
    assert rotated == {persons[0].pk, persons[1].pk}

    Person.objects.filter(pk=persons[2].pk).update(wrapped_key=good)
    assert services.keys_rotate(batch_size=2) == 3
    assert Person.objects.filter(key_id="t2").count() == len(persons)


def test_keys_rotate_queries_grow_with_batches_not_persons(
    register, make_identity, settings, django_assert_max_num_queries
):
    for _ in range(12):
        register(make_identity())
    _ring_with_new_key(settings)
    # One count, then per batch: savepoint, select, update, release; plus the last,
    # empty select. Saving person by person would exceed this.
    with django_assert_max_num_queries(1 + 3 * 4 + 3):
        assert services.keys_rotate(batch_size=5) == 12
