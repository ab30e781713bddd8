"""A transaction parked while the authority was down is completed by a real
Celery worker once the authority answers."""

from __future__ import annotations

import pytest
from django.utils import timezone

from identity.authority import AuthorityResult, Outcome, utc_now
from registration.models import LineStatus, Transaction, TransactionState
from registration.tasks import verify_pending
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]


class _Down:
    name = "down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-test", utc_now(), self.name)


def test_worker_completes_a_waiting_opening(
    celery_worker_process, alpha_clerk, consent, citizen, inventory, monkeypatch
):
    from identity import authority
    from registration import services

    identity = citizen()
    monkeypatch.setattr(authority, "get_backend", lambda: _Down())
    tx = services.transaction_submit(
        actor=alpha_clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open", consent=consent, applicant=identity
        ),
    )
    assert tx.state == TransactionState.PENDING_VERIFICATION
    monkeypatch.undo()
    # Its check falls due (a message for a check not yet due does nothing).
    Transaction.objects.filter(pk=tx.pk).update(next_verification_at=timezone.now())
    # The worker process has the real (simulated) authority, which knows this citizen.
    verify_pending.apply_async(args=[tx.pk])

    def completed() -> bool:
        return Transaction.objects.get(pk=tx.pk).state == TransactionState.COMPLETED

    assert wait_for(completed, timeout=60)
    tx.refresh_from_db()
    assert tx.line.status == LineStatus.ACTIVE
