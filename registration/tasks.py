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

from config.celery import enqueue, records_failure

from . import alerts, closing, failures, idempotency, reviews, services
from .models import Transaction, TransactionState

logger = logging.getLogger(__name__)

# The longest countdown a task message is published with (seconds).
LONGEST_COUNTDOWN = 300


@shared_task(
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    queue="interactive",
    **records_failure(
        lambda failure: failures.transaction_failure_record(
            transaction_id=failure.arguments["transaction_id"], reason=failure.reason
        ),
        code="verification",
    ),
)
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
def release_numbers(now: str | None = None) -> int:
    """Beat, hourly: numbers whose quarantine ended become available again
    (``registration.closing.numbers_release_due``, which ``manage.py
    release_numbers`` runs too). ``now``: an ISO date-time, for a run as of
    another moment."""
    moment = dt.datetime.fromisoformat(now) if now else None
    count = closing.numbers_release_due(now=moment)
    logger.info("released %s quarantined number(s)", count)
    return count


@shared_task(ignore_result=True)
def release_quarantined_numbers() -> int:
    """The old name of :func:`release_numbers` (a beat schedule or a queued
    message may still use it): the same path."""
    return release_numbers()


@shared_task(ignore_result=True)
def purge_idempotency_keys() -> int:
    """Hourly: forget Idempotency-Keys older than 48 hours (the contract keeps 24)."""
    return idempotency.purge_expired()


@shared_task(
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    **records_failure(
        lambda failure: failures.holder_alert_failure_record(
            transaction_id=failure.arguments["transaction_id"], reason=failure.reason
        ),
        code="alert",
    ),
)
def send_holder_alert(transaction_id: int) -> int:
    """Alert the holder's other lines about a new line or service (each once)."""
    return alerts.holder_alert_send(transaction_id=transaction_id)


@shared_task(
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    **records_failure(
        lambda failure: alerts.closure_alert_failure_record(
            closure_id=failure.arguments["closure_id"], reason=failure.reason
        ),
        code="alert",
    ),
)
def send_closure_alert(closure_id: int) -> int:
    """Tell the holder of a closed line, on it and on their other lines (each once)."""
    return alerts.closure_alert_send(closure_id=closure_id)


@shared_task(ignore_result=True)
def requeue_overdue_alerts(now: dt.datetime | None = None) -> int:
    """Beat, every minute: holder alerts still waiting on a message older than
    their overdue time (a broker restart without persistence loses them all)
    get their message again. Duplicates are harmless: the task claims its row
    first."""
    overdue = alerts.alerts_requeue_overdue(now=now)
    for pk in overdue:
        enqueue(send_holder_alert, pk)
    closures = alerts.closure_alerts_requeue_overdue(now=now)
    for pk in closures:
        enqueue(send_closure_alert, pk)
    if overdue or closures:
        logger.warning("re-published overdue messages: %s alert(s)", len(overdue) + len(closures))
    return len(overdue) + len(closures)


@shared_task(ignore_result=True)
def expire_portrait_reviews(now: str | None = None) -> int:
    """Beat, every few minutes: portrait reviews not decided by their time
    limit reject their transactions and release their numbers
    (``registration.reviews.reviews_expire``, which ``manage.py
    expire_portrait_reviews`` runs too)."""
    moment = dt.datetime.fromisoformat(now) if now else None
    count = reviews.reviews_expire(now=moment)
    logger.info("expired %s portrait review(s)", count)
    return count
