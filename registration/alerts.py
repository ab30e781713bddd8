"""Holder alerts: telling a holder's other lines that a line was opened,
transferred to them or given a service under their document.

- The transaction's :class:`HolderAlert` row is written with the transaction
  (``services._alert_holder``) and its message published after the commit.
- ``holder_alert_send`` claims that row with a lease (a conditional UPDATE: a
  duplicate message does nothing), records one :class:`HolderAlertMessage`
  intent per other line (unique per (alert, line): each line once, ever),
  reconciles the intents a killed worker left behind against the channel
  (``already_sent``), sends the rest and marks each sent — or failed, with the
  channel's reason, when the channel refuses it for good.
- ``alerts_requeue_overdue`` (beat, ``tasks.requeue_overdue_alerts``) hands
  back the alerts whose message is overdue — lost with the broker's data — for
  their message to be published again.

The channels, texts and rate limits are the ``notices`` app's; nothing here
goes through re-verification.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from identity.models import Person
from notices import channels
from notices.messages import language_for, rate_wait, render_message

from .models import (
    AlertMessageState,
    HolderAlert,
    HolderAlertMessage,
    Line,
    LineStatus,
    Transaction,
    TransactionState,
)
from .selectors import alerted_person_id

ALERT_KIND = "alert"


def holder_alert_send(*, transaction_id: int) -> int:
    """Send a completed transaction's holder alert; returns how many messages
    this call sent. Each (transaction, line) once; the transaction's
    HolderAlert row is claimed first (a duplicate message does nothing) and
    marked done, or its failure recorded on it."""
    now = timezone.now()
    if not _alert_claim(transaction_id, now):
        return 0  # done already, or a live worker holds it
    try:
        sent = _alert_send(transaction_id, now)
    except Exception as exc:
        # Visible on the row; the sweep publishes it again once overdue.
        HolderAlert.objects.filter(transaction_id=transaction_id).update(
            lease_until=None, error=type(exc).__name__[:200]
        )
        raise
    HolderAlert.objects.filter(transaction_id=transaction_id).update(
        done_at=timezone.now(), lease_until=None, sent=F("sent") + sent, error=""
    )
    return sent


def _alert_claim(transaction_id: int, now: dt.datetime) -> bool:
    """Claim a transaction's alert with a lease (a conditional UPDATE). A
    transaction completed before alerts had rows gets its row here."""
    if not HolderAlert.objects.filter(transaction_id=transaction_id).exists():
        if not Transaction.objects.filter(
            pk=transaction_id, state=TransactionState.COMPLETED
        ).exists():
            return False
        HolderAlert.objects.bulk_create(
            [HolderAlert(transaction_id=transaction_id, created_at=now, enqueued_at=now)],
            ignore_conflicts=True,
        )
    return bool(
        HolderAlert.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now),
            transaction_id=transaction_id,
            done_at__isnull=True,
        ).update(
            lease_until=now + dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS),
            attempts=F("attempts") + 1,
        )
    )


def _alert_send(transaction_id: int, now: dt.datetime) -> int:
    tx = Transaction.objects.select_related("operator", "store", "line").get(pk=transaction_id)
    if tx.state != TransactionState.COMPLETED or tx.line is None:
        return 0
    person_id = alerted_person_id(tx)
    if person_id is None:
        return 0
    alert = HolderAlert.objects.get(transaction_id=transaction_id)
    channel = channels.get_channel(settings.TELEREG_ALERT_CHANNEL)
    others = (
        Line.objects.filter(holder_id=person_id)
        .exclude(pk=tx.line_id)
        .exclude(status=LineStatus.CLOSED)
        .order_by("pk")
    )
    # 1. The intents, one per other line, before any channel is called
    # (nothing twice: the unique (alert, line)).
    with transaction.atomic():
        HolderAlertMessage.objects.bulk_create(
            [
                HolderAlertMessage(alert=alert, line=line, channel=channel.name, created_at=now)
                for line in others
            ],
            ignore_conflicts=True,
        )
    pending = HolderAlertMessage.objects.filter(alert=alert, state=AlertMessageState.INTENT)
    # 2. Intents older than this claim may have been written by a killed
    # worker: the channel says which of them it already holds.
    leftovers = {-pk for pk in pending.filter(created_at__lt=now).values_list("pk", flat=True)}
    if leftovers:
        written = channel.already_sent(leftovers)
        if written:
            _mark_sent([-key for key in written])
    # 3. The rest, one at a time, each recorded as it happens.
    # In the holder's language, and the link opens /my-lines/ in it.
    language = language_for(
        Person.objects.filter(pk=person_id).values_list("language", flat=True).first()
    )
    link = f"{settings.TELEREG_PUBLIC_URL.rstrip('/')}/my-lines/?lang={language}"
    text = render_message(
        kind=ALERT_KIND,
        language=language,
        context={
            "operator": tx.operator.name,
            "last4": tx.line.number[-4:],
            "store": tx.store.name,
            "link": link,
        },
    )
    sent = 0
    for message in pending.select_related("line").order_by("pk"):
        rate_wait(channel.name, 1)
        try:
            channel.send_many(
                [
                    channels.Message(
                        delivery=message.channel_key,
                        channel=channel.name,
                        to=message.line.number,
                        campaign=None,
                        request=None,
                        kind=ALERT_KIND,
                        language=language,
                        text=text,
                        link=link,
                    )
                ]
            )
        except channels.ChannelError as exc:
            if not exc.permanent:
                raise  # transient: the task retries; this intent stays
            HolderAlertMessage.objects.filter(pk=message.pk).update(
                state=AlertMessageState.FAILED, error=exc.reason[:200]
            )
            continue
        _mark_sent([message.pk])
        sent += 1
    return sent


def _mark_sent(message_ids: list[int]) -> None:
    HolderAlertMessage.objects.filter(pk__in=message_ids).update(
        state=AlertMessageState.SENT, sent_at=timezone.now()
    )


def alerts_requeue_overdue(*, now: dt.datetime | None = None, limit: int = 5000) -> list[int]:
    """Holder alerts not done whose message is older than
    TELEREG_INTERACTIVE_OVERDUE_SECONDS and that no live worker holds: marked
    published now; returns their transactions' ids for the caller to publish
    (a concurrent sweep skips the rows this one holds, on PostgreSQL)."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS)
    overdue = HolderAlert.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        done_at__isnull=True,
        enqueued_at__lt=cutoff,
    )
    with transaction.atomic():
        ids = list(
            overdue.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("transaction_id", flat=True)[:limit]
        )
        HolderAlert.objects.filter(transaction_id__in=ids).update(enqueued_at=now)
    return ids
