"""Celery tasks of the registration app: thin callers of the services. The
database holds the truth: every row that waits on a message records when the
message was published (or is due), each task claims its row with a
conditional UPDATE before working, and the beat sweeps publish again what a
lost message left behind."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.celery import enqueue

from . import idempotency, numbers, services
from .models import Transaction, TransactionState

logger = logging.getLogger(__name__)

# The longest countdown a task message is published with (seconds).
LONGEST_COUNTDOWN = 300


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True, queue="interactive")
def verify_pending(transaction_id: int) -> None:
    """Re-ask the authority about a waiting transaction when its check is due,
    and publish the next check while it stays unreachable. The row holds the
    schedule (next_verification_at) and the claim: a duplicate message, or one
    for a check not due, does nothing; a lost one is published again by
    ``sweep_pending_verifications``."""
    if not services.pending_claim(transaction_id=transaction_id):
        return
    state = services.transaction_verify_pending(transaction_id=transaction_id)
    if state != TransactionState.PENDING_VERIFICATION:
        return
    due = (
        Transaction.objects.filter(pk=transaction_id)
        .values_list("next_verification_at", flat=True)
        .first()
    )
    if due is not None:
        countdown = max(0.0, (due - timezone.now()).total_seconds())
        if countdown <= LONGEST_COUNTDOWN:
            enqueue(verify_pending, transaction_id, countdown=countdown)
        # A longer wait is left to the sweep, which publishes the check once
        # it is overdue: an ETA near Redis's visibility timeout is delivered
        # again and again.


@shared_task(ignore_result=True)
def sweep_pending_verifications(now: dt.datetime | None = None) -> int:
    """Beat, every minute: publish again the checks of waiting transactions
    whose message is overdue (lost with the broker's data, or never sent)."""
    due = services.pending_due(
        now=now, overdue_seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS
    )
    for pk in due:
        enqueue(verify_pending, pk)
    return len(due)


@shared_task(ignore_result=True)
def release_quarantined_numbers() -> int:
    count = numbers.quarantine_release_due()
    logger.info("released %s quarantined number(s)", count)
    return count


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Hourly: forget Idempotency-Keys older than 48 hours (the contract keeps 24)."""
    return idempotency.purge_expired()


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True, time_limit=3600)
def plan_campaign(campaign_id: int) -> int:
    """Create a launched campaign's requests (set-wise; safe to run twice),
    then cut them into batches and queue one message per batch. Claimed with
    a lease on the campaign: a duplicate message does nothing while a worker
    plans; a lost one (or a killed worker's) is published again by
    ``requeue_overdue_messages``."""
    from . import campaigns, dispatch
    from .models import Campaign

    if not dispatch.plan_claim(campaign_id=campaign_id):
        return 0
    campaign = Campaign.objects.get(pk=campaign_id)
    count = campaigns.campaign_plan(
        campaign=campaign, progress=lambda _done: dispatch.plan_renew(campaign_id=campaign_id)
    )
    dispatch.batches_enqueue(dispatch.batches_create(campaign=campaign))
    dispatch.plan_release(campaign_id=campaign_id)
    return count


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=1800,
    soft_time_limit=1740,  # a paced 2,000-message batch outlives the global 240 s
    max_retries=5,
)
def send_batch(self, batch_id: int) -> int:
    """Send one batch of notices (claimed with a lease; nothing twice)."""
    from . import channels, dispatch

    try:
        return dispatch.batch_send(batch_id=batch_id, worker=self.request.hostname or "")
    except (OSError, channels.ChannelError) as exc:  # transient: retry the range later
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 2)) from None


@shared_task(ignore_result=True)
def requeue_expired_batches() -> int:
    """Beat: batches whose worker died go back to the queue within minutes."""
    from . import dispatch

    expired = dispatch.batches_requeue_expired()
    dispatch.batches_enqueue(expired)
    return len(expired)


@shared_task(ignore_result=True)
def requeue_overdue_messages(now: dt.datetime | None = None) -> int:
    """Beat, every minute: every row still waiting on a message older than its
    overdue time (a broker restart without persistence loses them all) gets
    its message again — queued batches, campaigns planning, holder alerts.
    Duplicates are harmless: each task claims its row first."""
    from . import dispatch

    batches = dispatch.batches_requeue_overdue(now=now)
    dispatch.batches_enqueue(batches, now=now)
    plans = dispatch.plans_requeue_overdue(now=now)
    for pk in plans:
        enqueue(plan_campaign, pk, queue="campaigns")
    alerts = dispatch.alerts_requeue_overdue(now=now)
    for pk in alerts:
        enqueue(send_holder_alert, pk)
    if batches or plans or alerts:
        logger.warning(
            "re-published overdue messages: %s batch(es), %s plan(s), %s alert(s)",
            len(batches),
            len(plans),
            len(alerts),
        )
    return len(batches) + len(plans) + len(alerts)


@shared_task(ignore_result=True)
def reverification_cycle() -> None:
    """Beat: expire overdue requests, bar then suspend their lines."""
    from . import campaigns, dispatch

    result = campaigns.reverification_cycle()
    dispatch.batches_enqueue(list(result.batches))


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def send_holder_alert(transaction_id: int) -> int:
    """Alert the holder's other lines about a new line or service (each once)."""
    from . import dispatch

    return dispatch.holder_alert_send(transaction_id=transaction_id)
