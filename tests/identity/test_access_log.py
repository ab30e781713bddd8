"""The access log: one door for unmasked reads, append-only, hash-chained."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from identity import access_log, services
from identity.errors import RevealNotAllowed
from identity.models import AccessLogEntry, AccessPurpose
from operators.roles import Role
from tests.identity import tampering

pytestmark = pytest.mark.django_db


def test_reveal_writes_an_entry_with_actor_fields_purpose_and_reason(
    register, make_identity, alpha_compliance
):
    identity = make_identity()
    person = register(identity)
    values = services.person_reveal(
        person=person,
        actor=alpha_compliance.user,
        reason="Subscriber dispute #42",
        fields=["name", "id_number"],
    )
    assert values == {"name": identity.name, "id_number": identity.id_number}
    entry = AccessLogEntry.objects.get(person=person)
    assert entry.actor == alpha_compliance.user
    assert entry.fields == ["id_number", "name"]
    assert entry.purpose == AccessPurpose.COMPLIANCE_REVIEW
    assert entry.reason == "Subscriber dispute #42"
    assert entry.operator == person.operator


def test_reveal_without_a_reason_is_refused_and_logs_nothing(
    register, make_identity, alpha_compliance
):
    person = register(make_identity())
    with pytest.raises(RevealNotAllowed) as info:
        services.person_reveal(person=person, actor=alpha_compliance.user, reason="  ")
    assert "reason" in info.value.fields
    assert not AccessLogEntry.objects.filter(person=person).exists()


def test_clerk_cannot_reveal(register, make_identity, alpha_clerk):
    person = register(make_identity())
    with pytest.raises(RevealNotAllowed):
        services.person_reveal(person=person, actor=alpha_clerk.user, reason="curious about it")
    assert not AccessLogEntry.objects.filter(person=person).exists()


def test_other_operators_compliance_officer_cannot_reveal(
    register, make_identity, beta, make_staff
):
    person = register(make_identity())
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    with pytest.raises(RevealNotAllowed):
        services.person_reveal(person=person, actor=officer.user, reason="not my operator")


def test_entries_form_a_chain_that_verifies(alpha, alpha_compliance):
    for n in range(5):
        access_log.append(
            operator=alpha, actor=alpha_compliance.user, purpose="compliance_review", reason=f"r{n}"
        )
    entries = list(AccessLogEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == access_log.GENESIS
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert list(access_log.verify()) == []
    call_command("verify_access_log")


def test_orm_refuses_to_update_or_delete_entries(alpha, alpha_compliance):
    entry = access_log.append(
        operator=alpha, actor=alpha_compliance.user, purpose="compliance_review"
    )
    entry.reason = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(reason="x")
    with pytest.raises(PermissionError):
        AccessLogEntry.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE identity_accesslogentry SET reason = 'x' WHERE id = %s",
        "DELETE FROM identity_accesslogentry WHERE id = %s",
    ],
)
def test_raw_sql_tampering_is_refused_on_postgresql_and_never_unnoticed(
    alpha, alpha_compliance, statement
):
    """PostgreSQL (production, CI) refuses the statement with a trigger. SQLite
    (the embedded default) has no trigger, because test databases are flushed
    with DELETE there; the hash chain still names the entry."""
    entries = [
        access_log.append(operator=alpha, actor=alpha_compliance.user, purpose="compliance_review")
        for _ in range(2)
    ]
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [entries[0].pk])
        assert list(access_log.verify()) == []
    else:
        with connection.cursor() as cursor:
            cursor.execute(statement, [entries[0].pk])
        broken = list(access_log.verify())
        assert broken
        assert broken[0].entry_id in {entries[0].pk, entries[1].pk}


def _tamper(sql: str, params: list) -> None:
    """Change a row behind the application's back, as the owner role could."""
    tampering.as_owner((sql, params))


def test_verify_names_the_first_changed_entry(alpha, alpha_compliance, capsys):
    entries = [
        access_log.append(operator=alpha, actor=alpha_compliance.user, purpose="compliance_review")
        for _ in range(4)
    ]
    _tamper("UPDATE identity_accesslogentry SET reason = 'edited' WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match=f"entry #{entries[1].pk}"):
        call_command("verify_access_log")


def test_verify_detects_a_deleted_entry(alpha, alpha_compliance):
    entries = [
        access_log.append(operator=alpha, actor=alpha_compliance.user, purpose="compliance_review")
        for _ in range(3)
    ]
    _tamper("DELETE FROM identity_accesslogentry WHERE id = %s", [entries[1].pk])
    broken = list(access_log.verify())
    assert broken[0].entry_id == entries[2].pk


def test_verify_detects_entries_cut_from_the_end(alpha, alpha_compliance):
    entries = [
        access_log.append(operator=alpha, actor=alpha_compliance.user, purpose="compliance_review")
        for _ in range(3)
    ]
    call_command("verify_access_log")  # signs a checkpoint of the head: entry 3
    _tamper("DELETE FROM identity_accesslogentry WHERE id = %s", [entries[2].pk])
    broken = list(access_log.verify())
    assert broken
    assert "missing from the end" in broken[0].problem


def test_chains_are_per_operator(alpha, beta, alpha_compliance, make_staff):
    beta_officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    a = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose="compliance_review")
    b = access_log.append(operator=beta, actor=beta_officer.user, purpose="compliance_review")
    assert a.chain != b.chain
    assert a.seq == b.seq == 1
