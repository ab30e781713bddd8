"""Helpers shared by tests (not fixtures)."""

from __future__ import annotations

import threading

from django.db import connection, connections


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


def identity_form_fields(identity, prefix: str = "") -> dict[str, str]:
    """An identity as the fields of a page's form (optionally prefixed)."""
    values = {
        "id_type": identity.id_type,
        "id_number": identity.id_number,
        "name": identity.name,
        "date_of_birth": identity.date_of_birth.isoformat(),
        "sex": identity.sex,
        "id_expiry": identity.id_expiry.isoformat() if identity.id_expiry else "",
        "nationality": identity.nationality or "",
        "address": identity.address or "",
    }
    if getattr(identity, "language", None):
        values["language"] = identity.language
    return {f"{prefix}{name}": value for name, value in values.items()}


def race(worker, count: int) -> list[object]:
    """Run ``worker(i)`` in ``count`` threads released together, each on its own
    database connection; collect each thread's result or exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = worker(i)
        except Exception as exc:  # the outcome under test, recorded per thread
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results
