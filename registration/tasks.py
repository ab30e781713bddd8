"""Celery tasks of the registration app: thin callers of the services. The
database holds the truth (Transaction.next_verification_at); the beat sweep
re-queues anything a lost message left behind."""

from __future__ import annotations

import logging

from celery import shared_task

from config.celery import enqueue

from . import idempotency, numbers, services
from .models import TransactionState

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=len(services.VERIFY_BACKOFF_SECONDS),
    queue="interactive",
)
def verify_pending(self, transaction_id: int) -> None:
    """Re-ask the authority about a waiting transaction; retry with backoff
    while it stays unreachable."""
    state = services.transaction_verify_pending(transaction_id=transaction_id)
    if state == TransactionState.PENDING_VERIFICATION and self.request.retries < self.max_retries:
        delay = services.VERIFY_BACKOFF_SECONDS[
            min(self.request.retries + 1, len(services.VERIFY_BACKOFF_SECONDS) - 1)
        ]
        raise self.retry(countdown=delay)


@shared_task(ignore_result=True)
def sweep_pending_verifications() -> int:
    """Every minute: re-queue waiting transactions whose check is due."""
    due = services.pending_due()
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
    then cut them into batches and queue one message per batch."""
    from . import campaigns, dispatch
    from .models import Campaign

    campaign = Campaign.objects.get(pk=campaign_id)
    count = campaigns.campaign_plan(campaign=campaign)
    dispatch.batches_enqueue(dispatch.batches_create(campaign=campaign))
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
