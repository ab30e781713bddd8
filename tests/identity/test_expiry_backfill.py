"""``backfill_document_expiry``: persons stored before ``Person.id_expires_on``
existed get it from their encrypted expiry, each read logged, resumably."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from identity import crypto, services, vault
from identity.models import AccessLogEntry, AccessPurpose, Person

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_before(register, make_identity, today):
    """Persons as a database from before the column holds them: expiry sealed,
    ``id_expires_on`` empty."""

    def make(expiry: dt.date | None):
        person = register(make_identity(id_expiry=expiry))
        Person.objects.filter(pk=person.pk).update(id_expires_on=None)
        return person

    return make


def maintenance_reads(person: Person) -> int:
    return AccessLogEntry.objects.filter(person=person, purpose=AccessPurpose.MAINTENANCE).count()


def test_fills_the_date_and_logs_each_read_before_it(stored_before, today):
    soon = stored_before(today + dt.timedelta(days=12))
    later = stored_before(today + dt.timedelta(days=900))
    without = stored_before(None)

    out = io.StringIO()
    call_command("backfill_document_expiry", stdout=out)

    for person, expected in ((soon, 12), (later, 900)):
        person.refresh_from_db()
        assert person.id_expires_on == today + dt.timedelta(days=expected)
        entry = AccessLogEntry.objects.get(person=person, purpose=AccessPurpose.MAINTENANCE)
        assert entry.fields == ["id_expiry"]  # only the one field was opened
        assert entry.actor_id is None
        assert entry.actor_label == services.EXPIRY_BACKFILL_ACTOR
    without.refresh_from_db()
    assert without.id_expires_on is None
    assert maintenance_reads(without) == 0  # nothing to read, nothing read
    assert "done: 2 filled, 0 not a date, 0 remaining" in out.getvalue()
    # The output counts; it never shows a date it read.
    assert (today + dt.timedelta(days=12)).isoformat() not in out.getvalue()


def test_an_interrupted_run_resumes_without_reading_anyone_twice(stored_before, today):
    people = [stored_before(today + dt.timedelta(days=30 + n)) for n in range(3)]

    def killed_after_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.document_expiry_backfill(batch_size=1, progress=killed_after_first_batch)
    assert services.document_expiry_backfill_pending() == 2  # the first batch committed

    result = services.document_expiry_backfill(batch_size=1)
    assert (result.filled, result.unreadable, result.remaining) == (2, 0, 0)
    for n, person in enumerate(people):
        person.refresh_from_db()
        assert person.id_expires_on == today + dt.timedelta(days=30 + n)
        assert maintenance_reads(person) == 1
    # A third run finds nobody and reads nobody.
    assert services.document_expiry_backfill().filled == 0
    assert AccessLogEntry.objects.filter(purpose=AccessPurpose.MAINTENANCE).count() == 3


def test_a_stored_expiry_that_is_not_a_date_is_counted_and_left(stored_before, today):
    odd = stored_before(today + dt.timedelta(days=5))
    # Written the way an older release could (the seal now refuses a non-date).
    odd.id_expiry_enc = crypto.encrypt_field(
        vault._data_key(odd), "long-term", subject=odd.subject, field="id_expiry"
    )
    odd.save(update_fields=["id_expiry_enc"])

    result = services.document_expiry_backfill()
    assert (result.filled, result.unreadable, result.remaining) == (0, 1, 1)
    odd.refresh_from_db()
    assert odd.id_expires_on is None
    assert maintenance_reads(odd) == 1  # the read happened, and is on the log


def test_shredded_persons_are_not_read(stored_before, today):
    gone = stored_before(today + dt.timedelta(days=5))
    vault.shred(gone)
    gone.save()
    assert services.document_expiry_backfill_pending() == 0
    assert services.document_expiry_backfill().filled == 0
    assert maintenance_reads(gone) == 0


def test_dry_run_counts_and_reads_nothing(stored_before, today):
    person = stored_before(today + dt.timedelta(days=5))
    out = io.StringIO()
    call_command("backfill_document_expiry", "--dry-run", stdout=out)
    assert "would fill 1 person(s)" in out.getvalue()
    person.refresh_from_db()
    assert person.id_expires_on is None
    assert maintenance_reads(person) == 0


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(CommandError, match="batch-size"):
        call_command("backfill_document_expiry", "--batch-size", "0")
