"""Least privilege: the role web and worker connect with may only SELECT and
INSERT the access log. On PostgreSQL (CI: telereg_app, or a temporary role with
the same grants when none is configured) each refused statement is tried as
that role. SQLite has no roles: there the tests hold what SQLite has, the ORM's
refusals, and the application's own path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import environ
import psycopg
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, connection

from identity import access_log, db_roles
from identity.models import AccessLogEntry, AccessPurpose
from operators.roles import Role
from tests.factories import OperatorFactory, StaffFactory

PURPOSE = AccessPurpose.COMPLIANCE_REVIEW
POSTGRES = connection.vendor == "postgresql"


@dataclass(frozen=True)
class Runtime:
    user: str
    password: str


@pytest.fixture(scope="session")
def runtime(django_db_setup, django_db_blocker) -> Iterator[Runtime | None]:
    """The runtime role's credentials: TELEREG_DB_RUNTIME_ROLE (granted by migrate,
    password from DATABASE_URL), or a temporary role granted the same way."""
    if connection.vendor != "postgresql":
        yield None
        return
    role = db_roles.runtime_role()
    if role:
        url = environ.Env.db_url_config(os.environ.get("DATABASE_URL", "postgres:///x"))
        yield Runtime(role, url.get("PASSWORD", "") if url.get("USER") == role else "")
        return
    temporary = f"telereg_runtime_test_{os.getpid()}"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{temporary}" LOGIN')
        db_roles.grant_runtime_role(connection, temporary)
    yield Runtime(temporary, "")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{temporary}"')
        cursor.execute(f'DROP ROLE "{temporary}"')


@contextmanager
def runtime_connection(runtime: Runtime) -> Iterator[psycopg.Connection]:
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        dbname=s["NAME"],
        user=runtime.user,
        password=runtime.password or None,
    ) as conn:
        conn.execute("SET lock_timeout = '5s'")  # fail, never hang, should a lock be held
        conn.commit()
        yield conn
        conn.rollback()


@contextmanager
def django_as(runtime: Runtime | None) -> Iterator[None]:
    """The application's own connection, as the runtime role (PostgreSQL)."""
    if runtime is None:
        yield
        return
    saved = {k: connection.settings_dict[k] for k in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(USER=runtime.user, PASSWORD=runtime.password)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


REFUSED = {
    "update": "UPDATE identity_accesslogentry SET reason = 'rewritten'",
    "delete": "DELETE FROM identity_accesslogentry",
    "truncate": "TRUNCATE identity_accesslogentry",
    "disable-trigger": (
        "ALTER TABLE identity_accesslogentry DISABLE TRIGGER identity_access_log_append_only"
    ),
    "drop": "DROP TABLE identity_accesslogentry",
}


@pytest.mark.django_db
def test_runtime_role_may_only_select_and_insert_the_access_log(runtime, alpha, alpha_compliance):
    if runtime is None:  # SQLite: the ORM inserts and reads, and refuses the rest
        entry = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE)
        assert AccessLogEntry.objects.filter(pk=entry.pk).exists()
        for refused in (
            lambda: AccessLogEntry.objects.filter(pk=entry.pk).update(reason="x"),
            lambda: AccessLogEntry.objects.all().delete(),
            lambda: AccessLogEntry.objects.bulk_update([entry], ["reason"]),
            entry.save,
            entry.delete,
        ):
            with pytest.raises(PermissionError):
                refused()
        return
    with runtime_connection(runtime) as conn:
        allowed = {
            privilege: conn.execute(
                "SELECT has_table_privilege(current_user, 'identity_accesslogentry', %s)",
                [privilege],
            ).fetchone()[0]
            for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "TRIGGER")
        }
        owner, superuser = conn.execute(
            "SELECT t.tableowner, r.rolsuper FROM pg_tables t, pg_roles r "
            "WHERE t.tablename = 'identity_accesslogentry' AND r.rolname = current_user"
        ).fetchone()
        other_tables = conn.execute(
            "SELECT has_table_privilege(current_user, 'operators_operator', 'UPDATE'), "
            "has_table_privilege(current_user, 'operators_operator', 'DELETE')"
        ).fetchone()
    assert allowed == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "TRIGGER": False,
    }
    assert owner != runtime.user
    assert superuser is False
    assert other_tables == (True, True)  # the rest of the application works as usual


@pytest.mark.django_db
def test_runtime_role_cannot_update_delete_truncate_alter_or_drop_the_log(
    runtime, alpha, alpha_compliance
):
    entry = access_log.append(operator=alpha, actor=alpha_compliance.user, purpose=PURPOSE)
    if runtime is None:  # SQLite: no roles; the ORM is the guard, the chain the proof
        with pytest.raises(PermissionError):
            AccessLogEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
        with pytest.raises(PermissionError):
            AccessLogEntry.objects.all().delete()
        assert list(access_log.verify()) == []
        return
    outcomes = {}
    with runtime_connection(runtime) as conn:
        for name, statement in REFUSED.items():
            try:
                conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege as exc:
                outcomes[name] = exc.sqlstate
            else:
                outcomes[name] = "allowed"
            conn.rollback()
    assert outcomes == dict.fromkeys(REFUSED, "42501")


@pytest.mark.django_db(transaction=True)
def test_the_application_appends_and_verifies_as_the_runtime_role(runtime):
    operator = OperatorFactory(code="rt-op")
    officer = StaffFactory(operator=operator, role=Role.COMPLIANCE_OFFICER)
    with django_as(runtime):
        first = access_log.append(operator=operator, actor=officer.user, purpose=PURPOSE)
        second = access_log.append(operator=operator, actor=officer.user, purpose=PURPOSE)
        assert (first.seq, second.seq, second.prev_hash) == (1, 2, first.entry_hash)
        call_command("verify_access_log")
        if runtime is not None:
            with pytest.raises(DatabaseError, match="permission denied"):
                with connection.cursor() as cursor:
                    cursor.execute(REFUSED["update"])
    assert list(access_log.verify()) == []


@pytest.mark.django_db
def test_grants_refuse_a_runtime_role_that_is_the_migrating_owner(runtime):
    if runtime is None:  # SQLite: nothing to grant, and migrating still works
        db_roles.apply_after_migrate(using="default")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        owner = cursor.fetchone()[0]
    with pytest.raises(ImproperlyConfigured, match="DATABASE_MIGRATE_URL"):
        db_roles.grant_runtime_role(connection, owner)


def test_runtime_role_name_is_checked_before_it_reaches_sql(settings):
    settings.TELEREG_DB_RUNTIME_ROLE = 'app"; DROP TABLE x; --'
    with pytest.raises(ImproperlyConfigured, match="TELEREG_DB_RUNTIME_ROLE"):
        db_roles.runtime_role()


@pytest.mark.django_db(transaction=True)
def test_migrate_connects_with_the_owner_credentials_of_database_migrate_url(settings):
    name = connection.settings_dict["NAME"]
    user = connection.settings_dict["USER"]
    if not POSTGRES:
        settings.DATABASE_MIGRATE_URL = "postgres://owner@127.0.0.1:5432/x"
        with pytest.raises(ImproperlyConfigured, match="same kind of database"):
            with db_roles.owner_connection("default"):
                pass
        return
    settings.DATABASE_MIGRATE_URL = "postgres://the_owner:s3cret@db.internal:6432/other"
    with db_roles.owner_connection("default"):
        inside = {k: connection.settings_dict[k] for k in ("USER", "PASSWORD", "HOST", "PORT")}
        assert connection.settings_dict["NAME"] == name  # the test database stays
    assert inside == {
        "USER": "the_owner",
        "PASSWORD": "s3cret",
        "HOST": "db.internal",
        "PORT": 6432,
    }
    assert connection.settings_dict["USER"] == user
