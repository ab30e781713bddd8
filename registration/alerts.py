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

A line's closing (registration.closing) alerts the same way, its
:class:`HolderAlert` row naming the :class:`LineClosure` instead of a
transaction: ``closure_alert_send`` tells the closed line itself and the
holder's other open lines.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from identity.models import Person
from notices import channels
from notices.messages import language_for, rate_wait, render_message

from . import kinds
from . import organisations as org_lines
from .models import (
    AlertMessageState,
    HolderAlert,
    HolderAlertMessage,
    Line,
    LineClosure,
    LineStatus,
    Transaction,
    TransactionState,
)
from .selectors import alerted_person_id

ALERT_KIND = "alert"
# The text of a closing's alert (its messages are alerts on the channel).
CLOSED_KIND = "line_closed"


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
    return _lease(HolderAlert.objects.filter(transaction_id=transaction_id), now)


def _lease(alerts: QuerySet[HolderAlert], now: dt.datetime) -> bool:
    """Claim an alert not done that no live worker holds (a conditional UPDATE)."""
    return bool(
        alerts.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now), done_at__isnull=True
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
    spec = kinds.get(tx.kind)
    # A minor's guardian hears of it on their own lines too (issue 15).
    told = [person_id, *org_lines.alert_extra_person_ids(tx)]
    lines = Line.objects.filter(holder_id__in=told).exclude(status=LineStatus.CLOSED)
    if not spec.alerts_line_itself:
        lines = lines.exclude(pk=tx.line_id)
    language, link = _language_and_link(person_id)
    text = render_message(
        kind=spec.alert_message,
        language=language,
        context={
            "operator": tx.operator.name,
            "last4": tx.line.number[-4:],
            "store": tx.store.name,
            "date": timezone.localtime(tx.updated_at).date().isoformat(),
            "link": link,
            # Issue 15: an agent acted for the holder (masked name).
            "agent": org_lines.agent_masked_name(tx),
        },
    )
    return _deliver(
        alert, list(lines.order_by("pk")), language=language, text=text, link=link, now=now
    )


def _language_and_link(person_id: int) -> tuple[str, str]:
    """The holder's language, and the link that opens /my-lines/ in it."""
    stored, operator_code = Person.objects.filter(pk=person_id).values_list(
        "language", "operator__code"
    ).first() or (None, "")
    language = language_for(stored)
    return language, my_lines_link(operator_code=operator_code, language=language)


def my_lines_link(*, operator_code: str, language: str) -> str:
    """The /my-lines/ address a message to a holder carries: in their language
    and naming their operator, so the page opens in its brand with the look-up
    set to it (the code is public; nothing personal goes into the link)."""
    query = urlencode({"operator": operator_code, "lang": language})
    return f"{settings.TELEREG_PUBLIC_URL.rstrip('/')}/my-lines/?{query}"


def _deliver(
    alert: HolderAlert, lines: list[Line], *, language: str, text: str, link: str, now: dt.datetime
) -> int:
    """Send one alert's text to each of ``lines`` (each once, ever); returns
    how many messages this call sent."""
    channel = channels.get_channel(settings.TELEREG_ALERT_CHANNEL)
    # 1. The intents, one per line, before any channel is called
    # (nothing twice: the unique (alert, line)).
    with transaction.atomic():
        HolderAlertMessage.objects.bulk_create(
            [
                HolderAlertMessage(alert=alert, line=line, channel=channel.name, created_at=now)
                for line in lines
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


# --- A line's closing ------------------------------------------------------------------------


def closure_alert_send(*, closure_id: int) -> int:
    """Tell the holder of a closed line, on that line and on each of their
    other open lines, that it closed (and to move their bank and app
    accounts off the number). Each line once; the closure's HolderAlert row
    is claimed first and marked done, or its failure recorded on it."""
    now = timezone.now()
    if not _lease(HolderAlert.objects.filter(closure_id=closure_id), now):
        return 0
    try:
        sent = _closure_send(closure_id, now)
    except Exception as exc:
        HolderAlert.objects.filter(closure_id=closure_id).update(
            lease_until=None, error=type(exc).__name__[:200]
        )
        raise
    HolderAlert.objects.filter(closure_id=closure_id).update(
        done_at=timezone.now(), lease_until=None, sent=F("sent") + sent, error=""
    )
    return sent


def _closure_send(closure_id: int, now: dt.datetime) -> int:
    closure = LineClosure.objects.select_related("line__operator").get(pk=closure_id)
    line = closure.line
    alert = HolderAlert.objects.get(closure_id=closure_id)
    others = (
        Line.objects.filter(holder_id=line.holder_id)
        .exclude(pk=line.pk)
        .exclude(status=LineStatus.CLOSED)
        .order_by("pk")
    )
    language, link = _language_and_link(line.holder_id)
    text = render_message(
        kind=CLOSED_KIND,
        language=language,
        context={
            "operator": line.operator.name,
            "last4": line.number[-4:],
            "date": timezone.localtime(closure.closed_at).date().isoformat(),
            "link": link,
        },
    )
    return _deliver(alert, [line, *others], language=language, text=text, link=link, now=now)


def closure_alert_failure_record(*, closure_id: int, reason: str) -> bool:
    """Why a closing's alert failed, on its row (the lease left alone)."""
    return bool(
        HolderAlert.objects.filter(done_at__isnull=True, closure_id=closure_id).update(
            error=reason[:200]
        )
    )


def closure_alerts_requeue_overdue(
    *, now: dt.datetime | None = None, limit: int = 5000
) -> list[int]:
    """As :func:`alerts_requeue_overdue`, for the alerts of closings: their
    closures' ids, for the caller to publish again."""
    return _requeue(HolderAlert.objects.filter(closure__isnull=False), "closure_id", now, limit)


def _mark_sent(message_ids: list[int]) -> None:
    HolderAlertMessage.objects.filter(pk__in=message_ids).update(
        state=AlertMessageState.SENT, sent_at=timezone.now()
    )


def alerts_requeue_overdue(*, now: dt.datetime | None = None, limit: int = 5000) -> list[int]:
    """Holder alerts not done whose message is older than
    TELEREG_INTERACTIVE_OVERDUE_SECONDS and that no live worker holds: marked
    published now; returns their transactions' ids for the caller to publish
    (a concurrent sweep skips the rows this one holds, on PostgreSQL)."""
    return _requeue(
        HolderAlert.objects.filter(transaction__isnull=False), "transaction_id", now, limit
    )


def _requeue(
    alerts: QuerySet[HolderAlert], key: str, now: dt.datetime | None, limit: int
) -> list[int]:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS)
    overdue = alerts.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        done_at__isnull=True,
        enqueued_at__lt=cutoff,
    )
    with transaction.atomic():
        rows = list(
            overdue.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", key)[:limit]
        )
        HolderAlert.objects.filter(pk__in=[pk for pk, _ in rows]).update(enqueued_at=now)
    return [value for _, value in rows]
