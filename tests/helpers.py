"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

from django.db import connection


def all_text_in_database() -> str:
    """Every column of every table, as text, read with raw SQL."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value).decode("utf-8", "ignore"))
                    elif value is not None:
                        chunks.append(str(value))
    return "\n".join(chunks)
