"""Celery tasks of re-verification: thin callers of the services. They keep
the names they were registered under when they lived in ``registration.tasks``
(``name=``): the beat schedule and messages already in the broker use them.
The database holds the truth: each task claims its row before working, and
the beat sweeps publish again what a lost message left behind."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from config.celery import enqueue, records_failure
from notices import channels

from . import campaigns, dispatch, failures
from .models import Campaign

logger = logging.getLogger(__name__)


@shared_task(
    name="registration.tasks.plan_campaign",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=3600,
    **records_failure(
        lambda failure: failures.campaign_failure_record(
            campaign_id=failure.arguments["campaign_id"], reason=failure.reason
        ),
        code="planning",
    ),
)
def plan_campaign(campaign_id: int) -> int:
    """Create a launched campaign's requests (set-wise; safe to run twice),
    then cut them into batches and queue one message per batch. Claimed with
    a lease on the campaign: a duplicate message does nothing while a worker
    plans; a lost one (or a killed worker's) is published again by
    ``requeue_overdue_messages``."""
    if not dispatch.plan_claim(campaign_id=campaign_id):
        return 0
    campaign = Campaign.objects.get(pk=campaign_id)
    count = campaigns.campaign_plan(
        campaign=campaign, progress=lambda _done: dispatch.plan_renew(campaign_id=campaign_id)
    )
    dispatch.batches_enqueue(dispatch.batches_create(campaign=campaign))
    dispatch.plan_release(campaign_id=campaign_id)
    failures.campaign_failure_clear(campaign_id=campaign_id)
    return count


@shared_task(
    name="registration.tasks.send_batch",
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=1800,
    soft_time_limit=1740,  # a paced 2,000-message batch outlives the global 240 s
    max_retries=5,
    **records_failure(
        lambda failure: failures.batch_failure_record(
            batch_id=failure.arguments["batch_id"], reason=failure.reason, worker=failure.worker
        ),
        code="sending",
    ),
)
def send_batch(self, batch_id: int) -> int:
    """Send one batch of notices (claimed with a lease; nothing twice)."""
    try:
        return dispatch.batch_send(batch_id=batch_id, worker=self.request.hostname or "")
    except (OSError, channels.ChannelError) as exc:  # transient: retry the range later
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 2)) from None


@shared_task(name="registration.tasks.requeue_expired_batches", ignore_result=True)
def requeue_expired_batches() -> int:
    """Beat: batches whose worker died go back to the queue within minutes."""
    expired = dispatch.batches_requeue_expired()
    dispatch.batches_enqueue(expired)
    return len(expired)


@shared_task(name="registration.tasks.requeue_overdue_messages", ignore_result=True)
def requeue_overdue_messages(now: dt.datetime | None = None) -> int:
    """Beat, every minute: every row still waiting on a message older than its
    overdue time (a broker restart without persistence loses them all) gets
    its message again — queued batches and campaigns planning (holder alerts
    are registration's: ``registration.tasks.requeue_overdue_alerts``).
    Duplicates are harmless: each task claims its row first."""
    batches = dispatch.batches_requeue_overdue(now=now)
    dispatch.batches_enqueue(batches, now=now)
    plans = dispatch.plans_requeue_overdue(now=now)
    for pk in plans:
        enqueue(plan_campaign, pk, queue="campaigns")
    if batches or plans:
        logger.warning(
            "re-published overdue messages: %s batch(es), %s plan(s)",
            len(batches),
            len(plans),
        )
    return len(batches) + len(plans)


@shared_task(name="registration.tasks.reverification_cycle", ignore_result=True)
def reverification_cycle() -> None:
    """Beat: expire overdue requests, bar then suspend their lines."""
    result = campaigns.reverification_cycle()
    dispatch.batches_enqueue(list(result.batches))
