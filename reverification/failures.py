"""Task failures recorded on the rows they leave behind (the failure hooks of
``config.celery.RecordedTask``) for re-verification's tasks; registration's
are in ``registration.failures``. Each writes the reason (the task's short
code and the error's class, never data) with one conditional UPDATE, so a
hook called for a row already finished, or gone, changes nothing.

What happens next is the sweeps' business, as before: a planning campaign
whose message is overdue is published again once its lease has expired; a
batch marked failed is not (its task gave up after its retries) and waits for
an officer, who sees it on the campaign's console page. A hook never frees a
lease another worker may hold."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from .models import BatchState, Campaign, DispatchBatch


def campaign_failure_record(
    *, campaign_id: int, reason: str, now: dt.datetime | None = None
) -> bool:
    """Mark a campaign's planning failed (``failure``, ``failed_at``). Its
    planning lease is left to expire, as a dead worker's would (a failing
    duplicate must not free a live planner's lease); then the sweep publishes
    the plan again. Returns whether a row was marked."""
    return bool(
        Campaign.objects.filter(pk=campaign_id).update(
            failure=reason[:200], failed_at=now or timezone.now()
        )
    )


def campaign_failure_clear(*, campaign_id: int) -> None:
    """A plan that succeeds clears the failure of an earlier attempt."""
    Campaign.objects.filter(pk=campaign_id).exclude(failure="").update(failure="", failed_at=None)


def batch_failure_record(
    *, batch_id: int, reason: str, worker: str = "", now: dt.datetime | None = None
) -> bool:
    """Mark a batch failed (no lease; no sweep publishes it again) unless it is
    done, or another worker holds a live claim on it: a duplicate message that
    fails never stops the worker sending the batch. Returns whether a row was
    marked."""
    now = now or timezone.now()
    return bool(
        DispatchBatch.objects.filter(
            Q(state=BatchState.QUEUED)
            | Q(state=BatchState.CLAIMED, claimed_by=worker)
            | Q(state=BatchState.CLAIMED, lease_until__lt=now)
            | Q(state=BatchState.CLAIMED, lease_until__isnull=True),
            pk=batch_id,
        ).update(
            state=BatchState.FAILED,
            error=reason[:200],
            failed_at=now,
            lease_until=None,
        )
    )
