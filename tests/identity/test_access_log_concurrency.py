"""Writers of one chain race with real threads, each on its own connection
(PostgreSQL in CI: serialised by the chain's advisory lock; SQLite: by its write
lock). The chain comes out gap-free, ordered and verifiable; other operators'
chains never wait on it."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from identity import access_log
from identity.models import AccessLogEntry, AccessPurpose
from operators.roles import Role
from tests.factories import OperatorFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
EACH = 5


def test_concurrent_appends_to_one_chain_give_one_gap_free_verifiable_chain():
    operator = OperatorFactory(code="race-op")
    other = OperatorFactory(code="race-other")
    officer = StaffFactory(operator=operator, role=Role.COMPLIANCE_OFFICER)
    barrier = threading.Barrier(THREADS)
    errors: list[Exception] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for n in range(EACH):
                access_log.append(
                    operator=other if i == 0 else operator,
                    actor=officer.user,
                    purpose=AccessPurpose.COMPLIANCE_REVIEW,
                    reason=f"thread {i} entry {n}",
                )
        except Exception as exc:  # the outcome under test, recorded per thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    main = list(
        AccessLogEntry.objects.filter(operator=operator)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert main == list(range(1, (THREADS - 1) * EACH + 1))
    assert AccessLogEntry.objects.filter(operator=other).count() == EACH
    assert list(access_log.verify()) == []
