"""Changing the access log behind the application's back, as the owner role can.

The owner (CI: telereg_owner, not a superuser) may switch the append-only
trigger off for its own transaction; SQLite has no trigger. Deferred foreign-key
checks queued by the test's own inserts are fired first, because PostgreSQL
refuses ALTER TABLE while trigger events are pending."""

from __future__ import annotations

import hashlib

from django.db import connection

from identity import access_log
from identity.models import AccessLogEntry

TABLE = "identity_accesslogentry"
TRIGGER = "identity_access_log_append_only"


def as_owner(*statements: tuple[str, list]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        for sql, params in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def truncate_log() -> None:
    """TRUNCATE on PostgreSQL (no row trigger sees it); SQLite's is DELETE without WHERE."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {TABLE}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - a constant


def rechain_with_sha256(chain: str, *, changes: dict[int, dict]) -> None:
    """Apply ``changes`` (seq -> column values) to a chain, then recompute every
    digest from the first change on with plain SHA-256, as someone without the
    audit key would, and store the recomputed chain."""
    rows = list(
        AccessLogEntry.objects.filter(chain=chain)
        .order_by("seq")
        .values(
            "id",
            "seq",
            "prev_hash",
            "entry_hash",
            "key_id",
            "operator_id",
            "actor_id",
            "actor_label",
            "store_id",
            "person_id",
            "fields",
            "purpose",
            "reason",
            "detail",
            "request_id",
            "created_at",
        )
    )
    statements = []
    prev = access_log.GENESIS
    for row in rows:
        entry_id = row.pop("id")
        row.pop("entry_hash")
        row.update(changes.get(row["seq"], {}))
        row["prev_hash"] = prev
        digest = hashlib.sha256(access_log.canonical_payload(chain=chain, **row)).hexdigest()
        statements.append(
            (
                f"UPDATE {TABLE} SET actor_id = %s, actor_label = %s, reason = %s, "  # noqa: S608
                "prev_hash = %s, entry_hash = %s WHERE id = %s",
                [row["actor_id"], row["actor_label"], row["reason"], prev, digest, entry_id],
            )
        )
        prev = digest
    as_owner(*statements)
