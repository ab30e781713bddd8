"""Task failures recorded on the rows they leave behind (the failure hooks of
``config.celery.RecordedTask``) for registration's tasks; re-verification's
are in ``reverification.failures``. Each writes the reason (the task's short
code and the error's class, never data) with one conditional UPDATE, so a
hook called for a row already finished, or gone, changes nothing.

What happens next is the sweeps' business, as before: a transaction's check
is re-asked when due, a holder alert whose message is overdue is published
again once its lease has expired. A hook never frees a lease another worker
may hold."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .models import HolderAlert, Transaction


def transaction_failure_record(
    *, transaction_id: int, reason: str, now: dt.datetime | None = None
) -> bool:
    """Record the last error of a transaction's background check; its state
    and schedule are left alone (the sweep re-asks when the check is due)."""
    return bool(
        Transaction.objects.filter(pk=transaction_id).update(
            last_error=reason[:200], last_error_at=now or timezone.now()
        )
    )


def holder_alert_failure_record(*, transaction_id: int, reason: str) -> bool:
    """Record why a holder alert that is not done failed. Its lease is left
    alone (the sending service frees its own; a failing duplicate must not
    free a live sender's): the sweep publishes it again once overdue."""
    return bool(
        HolderAlert.objects.filter(done_at__isnull=True, transaction_id=transaction_id).update(
            error=reason[:200]
        )
    )
