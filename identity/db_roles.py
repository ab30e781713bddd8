"""Least privilege on PostgreSQL: what the runtime role may do.

Migrations run as the owner of the tables (``DATABASE_MIGRATE_URL``); web and
worker connect as ``TELEREG_DB_RUNTIME_ROLE`` (``DATABASE_URL``). After every
``migrate`` the owner grants the runtime role:

* SELECT, INSERT, UPDATE, DELETE on every table of the schema, and USAGE,
  SELECT on its sequences, now and (ALTER DEFAULT PRIVILEGES) for every table
  and sequence the owner creates later;
* on the access-log tables (``LOG_TABLES``) only SELECT and INSERT: no UPDATE,
  DELETE, TRUNCATE, REFERENCES or TRIGGER. Not being the owner, the runtime
  role cannot ALTER (e.g. ``DISABLE TRIGGER``) or DROP them either.

Appending to the log needs nothing more: a chain's head is its highest entry
and writers of one chain are serialised by an advisory lock, which needs no
privilege (identity/access_log.py). Re-applying is harmless, so this runs on
every migrate and covers tables added later and a role configured later.
"""

from __future__ import annotations

import re

import environ
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

LOG_TABLES = ("identity_accesslogentry",)
_ROLE_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def runtime_role() -> str:
    role = (settings.TELEREG_DB_RUNTIME_ROLE or "").strip()
    if role and not _ROLE_RE.fullmatch(role):
        raise ImproperlyConfigured(
            "TELEREG_DB_RUNTIME_ROLE must be a lower-case PostgreSQL role name (a-z, 0-9, _)"
        )
    return role


def grant_statements(role: str, schema: str) -> list[str]:
    r, s = f'"{role}"', f'"{schema}"'
    statements = [
        f"GRANT USAGE ON SCHEMA {s} TO {r}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE "
        f"ON TABLES TO {r}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
    ]
    for table in LOG_TABLES:
        statements += [
            f"REVOKE ALL ON {s}.{table} FROM PUBLIC",
            f"REVOKE ALL ON {s}.{table} FROM {r}",
            f"GRANT SELECT, INSERT ON {s}.{table} TO {r}",
        ]
    return statements


def grant_runtime_role(connection: BaseDatabaseWrapper, role: str) -> None:
    """Grant ``role`` the runtime privileges in ``connection``'s database (as the owner).
    Refuses a role that is the current user, a superuser or the owner of a log table:
    such a role could rewrite the log whatever it is granted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), r.rolsuper FROM pg_roles r "
            "WHERE r.rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        if row is None:
            raise ImproperlyConfigured(
                "TELEREG_DB_RUNTIME_ROLE names a role that does not exist in this database cluster"
            )
        current, schema, superuser = row
        if current == role:
            raise ImproperlyConfigured(
                "migrate runs as TELEREG_DB_RUNTIME_ROLE: "
                "set DATABASE_MIGRATE_URL to the owner role"
            )
        if superuser:
            raise ImproperlyConfigured("TELEREG_DB_RUNTIME_ROLE must not be a superuser")
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename = ANY(%s) "
            "AND tableowner = %s",
            [schema, list(LOG_TABLES), role],
        )
        if cursor.fetchone()[0]:
            raise ImproperlyConfigured("TELEREG_DB_RUNTIME_ROLE must not own the access-log tables")
        for statement in grant_statements(role, schema):
            cursor.execute(statement)


def apply_after_migrate(*, using: str, **_: object) -> None:
    """post_migrate receiver: grant the configured runtime role, on PostgreSQL."""
    connection = connections[using]
    role = runtime_role()
    if role and connection.vendor == "postgresql":
        grant_runtime_role(connection, role)


# The parts of DATABASE_MIGRATE_URL that name who connects and where; the database
# name stays DATABASE_URL's (a test run has its own test database name).
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


class owner_connection:  # noqa: N801 - used as a context manager, reads like one
    """Within this block the ``default`` connection uses DATABASE_MIGRATE_URL's
    credentials (the owner role); afterwards the runtime ones again."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.saved: dict[str, object] | None = None

    def __enter__(self) -> None:
        url = settings.DATABASE_MIGRATE_URL
        if not url or self.alias != "default":
            return
        owner = environ.Env.db_url_config(url)
        connection = connections[self.alias]
        if owner["ENGINE"] != connection.settings_dict["ENGINE"]:
            raise ImproperlyConfigured(
                "DATABASE_MIGRATE_URL must name the same kind of database as DATABASE_URL"
            )
        self.saved = {part: connection.settings_dict.get(part) for part in _CREDENTIALS}
        connection.close()
        for part in _CREDENTIALS:
            connection.settings_dict[part] = owner.get(part, "")

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            return
        connection = connections[self.alias]
        connection.close()
        connection.settings_dict.update(self.saved)
