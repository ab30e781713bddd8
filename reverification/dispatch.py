"""Sending a campaign's notices: batches of request ids, claimed with a lease,
each message at most once.

- ``batches_create`` cuts the campaign's waiting requests into id ranges (one
  row per range, one Celery message per range — never one per notice).
- ``batch_send`` claims a range with a conditional UPDATE (queued, or claimed
  with an expired lease), records every delivery's intent set-wise, reconciles
  intents a killed worker left behind against the channel, sends, and marks
  what was sent, chunk by chunk (on the file channel each chunk's rows are
  locked until they are marked sent, so overlapping ranges — reminder cycles
  cut them anew — never send a message twice). A paused campaign stops at the
  next chunk and leaves its batch queued; a worker whose lease ran out stops
  there too; ``batches_requeue_expired`` (beat) gives back ranges whose worker
  died, long before Redis's visibility timeout would.
- Every row that waits on a message records when it was published
  (``DispatchBatch.enqueued_at``, ``Campaign.plan_enqueued_at``); the
  ``*_requeue_overdue`` sweeps (beat) hand back the rows whose message is
  overdue — lost with the broker's data — for their message to be published
  again. A duplicate does nothing: batches and plans are claimed with a
  conditional UPDATE first. (Holder alerts are registration's:
  ``registration.alerts``.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import socket
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from config.celery import enqueue, task_named
from notices import channels
from notices.messages import campaign_text, date_for_reading, language_for, rate_wait
from registration.models import Line

from .models import (
    BatchState,
    Campaign,
    CampaignState,
    Delivery,
    DeliveryState,
    DispatchBatch,
    NoticeKind,
    RequestState,
    ReverificationRequest,
)
from .tokens import request_token

logger = logging.getLogger(__name__)

# Messages between two looks at the campaign's state (pause) and two lease
# renewals: per-message channels (a gateway call each) check often; the file
# channel writes a chunk with one append, one fsync and one UPDATE.
SEND_CHUNK = 100
# The channel of a campaign that names none (as before the channels were named).
DEFAULT_CHANNEL = "file"
FILE_CHUNK = 1000

SEND_BATCH = "registration.tasks.send_batch"


def batches_create(
    *,
    campaign: Campaign,
    kind: str = NoticeKind.NOTICE,
    stage: int = 0,
    size: int | None = None,
    request_state: str = RequestState.PENDING,
) -> list[int]:
    """Cut the campaign's requests in ``request_state`` into ranges of ``size``
    ids; returns the ids of the queued batches (none twice for the same range)."""
    size = size or settings.TELEREG_DISPATCH_BATCH
    table = ReverificationRequest._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS rn "  # noqa: S608
            f"FROM {connection.ops.quote_name(table)} WHERE campaign_id = %s AND state = %s) t "
            f"WHERE (rn - 1) %% %s = 0 ORDER BY id",
            [campaign.pk, request_state, size],
        )
        starts = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT MAX(id) FROM {connection.ops.quote_name(table)} "  # noqa: S608
            "WHERE campaign_id = %s AND state = %s",
            [campaign.pk, request_state],
        )
        last = cursor.fetchone()[0]
    ranges = [
        (start, (starts[i + 1] - 1) if i + 1 < len(starts) else last)
        for i, start in enumerate(starts)
    ]
    created = DispatchBatch.objects.bulk_create(
        [
            DispatchBatch(
                campaign=campaign,
                kind=kind,
                stage=stage,
                first_request_id=first,
                last_request_id=end,
            )
            for first, end in ranges
        ],
        ignore_conflicts=True,
    )
    del created  # ignore_conflicts leaves pks unset: read them back
    return list(
        DispatchBatch.objects.filter(
            campaign=campaign, kind=kind, stage=stage, state=BatchState.QUEUED
        ).values_list("pk", flat=True)
    )


def batches_enqueue(batch_ids: list[int], *, now: dt.datetime | None = None) -> None:
    """Publish one message per batch, first recording on each row when (so the
    sweep can tell a message lost with the broker's data from one waiting)."""
    if not batch_ids:
        return
    DispatchBatch.objects.filter(pk__in=batch_ids, state=BatchState.QUEUED).update(
        enqueued_at=now or timezone.now()
    )
    for pk in batch_ids:
        enqueue(task_named(SEND_BATCH), pk, queue="campaigns")


def _claim(batch_id: int, worker: str, now: dt.datetime) -> bool:
    lease = now + dt.timedelta(seconds=settings.TELEREG_DISPATCH_LEASE_SECONDS)
    return bool(
        DispatchBatch.objects.filter(
            Q(state=BatchState.QUEUED) | Q(state=BatchState.CLAIMED, lease_until__lt=now),
            pk=batch_id,
        ).update(
            state=BatchState.CLAIMED,
            claimed_by=worker[:120],
            lease_until=lease,
            claims=F("claims") + 1,
        )
    )


def _templates(campaign: Campaign) -> dict[str, str]:
    """The campaign's own text for each language ("" for the template's)."""
    return {"zh-hans": campaign.notice_text_zh, "en": campaign.notice_text_en}


def link_for(request_id: int, *, language: str | None = None) -> str:
    """The request's link; ``?lang=`` opens the page in the notice's language
    (the token stays the only secret: the language tells nothing about it)."""
    link = f"{settings.TELEREG_PUBLIC_URL.rstrip('/')}/r/{request_token(request_id)}"
    return f"{link}?lang={language}" if language else link


def batch_send(
    *,
    batch_id: int,
    worker: str | None = None,
    now: dt.datetime | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Send one batch; returns how many messages this call sent. Safe to call
    again, from any worker, at any point: nothing is sent twice."""
    now = now or timezone.now()
    worker = worker or socket.gethostname()
    if not _claim(batch_id, worker, now):
        return 0
    batch = DispatchBatch.objects.select_related("campaign__operator").get(pk=batch_id)
    campaign = batch.campaign
    channel_name = campaign.channels[0] if campaign.channels else DEFAULT_CHANNEL
    channel = channels.get_channel(channel_name)
    table = Delivery._meta.db_table
    request_table = ReverificationRequest._meta.db_table
    wanted_state = RequestState.EXPIRED if batch.kind == NoticeKind.EXPIRY else RequestState.PENDING
    # The second expiry stage speaks only to lines that are now suspended.
    suspended_only = (
        f"AND line_id IN (SELECT id FROM {connection.ops.quote_name(Line._meta.db_table)} "  # noqa: S608 - a quoted model table name
        "WHERE status = 'suspended')"
        if batch.kind == NoticeKind.EXPIRY and batch.stage == 2
        else ""
    )
    # 1. Intents for the whole range, set-wise (nothing twice: the unique key).
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} "  # noqa: S608
            "(request_id, operator_id, kind, stage, channel, state, error, created_at) "
            "SELECT id, operator_id, %s, %s, %s, %s, '', %s "
            f"FROM {connection.ops.quote_name(request_table)} "
            "WHERE campaign_id = %s AND id BETWEEN %s AND %s AND state = %s "
            f"{suspended_only} "
            "ON CONFLICT (request_id, kind, stage) DO NOTHING",
            [
                batch.kind,
                batch.stage,
                channel_name,
                DeliveryState.INTENT,
                now,
                campaign.pk,
                batch.first_request_id,
                batch.last_request_id,
                wanted_state,
            ],
        )
    pending = Delivery.objects.filter(
        request__campaign=campaign,
        request_id__gte=batch.first_request_id,
        request_id__lte=batch.last_request_id,
        kind=batch.kind,
        stage=batch.stage,
        state=DeliveryState.INTENT,
    )
    # 2. Intents older than this claim may have been written by a killed worker.
    leftovers = set(pending.filter(created_at__lt=now).values_list("pk", flat=True))
    if leftovers:
        written = channel.already_sent(leftovers)
        if written:
            Delivery.objects.filter(pk__in=written).update(state=DeliveryState.SENT, sent_at=now)
    # 3. Send in chunks, in request order, each chunk read afresh after the
    # last request of the one before.
    # One batchable channel: chunks sent in one call, marked sent in the same
    # transaction. Otherwise one message at a time, trying the next channel.
    file_only = len(campaign.channels) <= 1 and channel.batchable
    size = _chunk_size(channel_name) if file_only else SEND_CHUNK
    compose = _composer(campaign, batch.kind, channel_name)
    sent, after = 0, batch.first_request_id - 1
    while True:
        if file_only:
            with transaction.atomic():
                # The chunk's rows stay locked until they are marked sent: a
                # live worker on an overlapping range skips them rather than
                # sending them too.
                ours = _still_ours(batch)
                rows = _next_chunk(pending, after, size, lock=True) if ours else []
                if rows:
                    messages = [compose(*row) for row in rows]
                    rate_wait(channel_name, len(messages))
                    channel.send_many(messages)  # one append and one fsync for the chunk
                    Delivery.objects.filter(pk__in=[row[0] for row in rows]).update(
                        state=DeliveryState.SENT, sent_at=timezone.now()
                    )
        else:
            # Not in a transaction: each message's outcome is recorded as it
            # happens, since a gateway cannot be asked what it already took.
            ours = _still_ours(batch)
            rows = _next_chunk(pending, after, size, lock=False) if ours else []
            try:
                _send_each(campaign.channels, [compose(*row) for row in rows])
            except channels.ChannelError:
                # Transient (gateway down): give the range back; the task retries it.
                DispatchBatch.objects.filter(pk=batch.pk).update(
                    state=BatchState.QUEUED, lease_until=None, enqueued_at=timezone.now()
                )
                raise
        if not ours:
            if Campaign.objects.filter(pk=campaign.pk).values_list("state", flat=True).first() != (
                CampaignState.RUNNING
            ):
                # Paused (or closed): stop here and give the range back for later.
                DispatchBatch.objects.filter(pk=batch.pk, claimed_by=worker[:120]).update(
                    state=BatchState.QUEUED, lease_until=None, sent=batch.sent + sent
                )
            else:
                # Our lease ran out and the range went to another worker.
                logger.warning("batch %s: lease lost, leaving the rest to its new worker", batch.pk)
            return sent
        if not rows:
            break
        after = rows[-1][1]
        sent += len(rows)
        if on_chunk:
            on_chunk(sent)
        _pace(len(rows))
        if len(rows) < size or after >= batch.last_request_id:
            break  # nothing left after it (or only what another live worker holds)
    DispatchBatch.objects.filter(pk=batch.pk, claims=batch.claims).update(
        state=BatchState.DONE, done_at=timezone.now(), lease_until=None, sent=batch.sent + sent
    )
    return sent


def _chunk_size(channel_name: str) -> int:
    """FILE_CHUNK, or less under a rate limit: a chunk never holds more than a
    second's worth, so ``rate_wait`` can admit it and the lease keeps up."""
    size = FILE_CHUNK
    for rate in (
        settings.TELEREG_CHANNEL_RATES.get(channel_name, 0),
        settings.TELEREG_DISPATCH_RATE,
    ):
        if rate > 0:
            size = min(size, max(1, int(rate)))
    return size


def _next_chunk(pending, after: int, size: int, *, lock: bool) -> list[tuple]:
    """The next ``size`` intents after request ``after``, with what their
    messages need, without loading model instances."""
    chunk = pending.filter(request_id__gt=after).order_by("request_id")
    if lock:
        chunk = chunk.select_for_update(skip_locked=True, of=("self",))
    return list(
        chunk.values_list(
            "pk",
            "request_id",
            "request__line__number",
            "request__person__language",
            "request__deadline",
        )[:size]
    )


def _composer(
    campaign: Campaign, kind: str, channel_name: str
) -> Callable[[int, int, str, str, dt.date], channels.Message]:
    """Builds a request's message; what is the same for the whole batch
    (templates, the operator's name) is looked up once."""
    templates = _templates(campaign)
    operator_name = campaign.operator.name

    def compose(
        delivery_id: int, request_id: int, number: str, person_language: str, deadline: dt.date
    ) -> channels.Message:
        language = language_for(person_language)
        link = link_for(request_id, language=language)
        values = {
            "operator": operator_name,
            "deadline": date_for_reading(deadline, language),
            "number": f"{number[:-8]}****{number[-4:]}",
            "link": link,
        }
        return channels.Message(
            delivery=delivery_id,
            channel=channel_name,
            to=number,
            campaign=campaign.pk,
            request=request_id,
            kind=kind,
            language=language,
            text=campaign_text(templates[language], kind=kind, language=language, context=values),
            link=link,
        )

    return compose


def _still_ours(batch: DispatchBatch) -> bool:
    """Renew the lease (a long batch is not taken from a live worker) if the
    campaign is still running and no other worker has claimed the range since:
    one UPDATE before each chunk."""
    running = Campaign.objects.filter(pk=batch.campaign_id, state=CampaignState.RUNNING)
    return bool(
        DispatchBatch.objects.filter(
            Exists(running), pk=batch.pk, state=BatchState.CLAIMED, claims=batch.claims
        ).update(
            lease_until=timezone.now()
            + dt.timedelta(seconds=settings.TELEREG_DISPATCH_LEASE_SECONDS)
        )
    )


def _send_each(names: list[str], messages: list[channels.Message]) -> None:
    """Send one by one through the campaign's channels in order: a permanent
    refusal tries the next channel and, when none is left, records the
    delivery as failed with the reason; a transient error propagates."""
    for message in messages:
        reasons = []
        for name in names:
            rate_wait(name, 1)
            try:
                channels.get_channel(name).send(dataclasses.replace(message, channel=name))
            except channels.ChannelError as exc:
                if not exc.permanent:
                    raise
                reasons.append(f"{name}: {exc.reason}")
                continue
            Delivery.objects.filter(pk=message.delivery).update(
                state=DeliveryState.SENT, sent_at=timezone.now(), channel=name
            )
            break
        else:
            Delivery.objects.filter(pk=message.delivery).update(
                state=DeliveryState.FAILED, error="; ".join(reasons)[:200]
            )


def _pace(count: int) -> None:
    """Hold a worker to TELEREG_DISPATCH_RATE messages per second (0: no limit),
    so a gateway's contracted rate is not exceeded by one worker."""
    rate = settings.TELEREG_DISPATCH_RATE
    if rate > 0:
        time.sleep(count / rate)


def batches_requeue_expired(*, now: dt.datetime | None = None) -> list[int]:
    """Ranges whose worker died (lease expired) go back to the queue."""
    now = now or timezone.now()
    expired = list(
        DispatchBatch.objects.filter(state=BatchState.CLAIMED, lease_until__lt=now).values_list(
            "pk", flat=True
        )
    )
    if expired:
        DispatchBatch.objects.filter(pk__in=expired, state=BatchState.CLAIMED).update(
            state=BatchState.QUEUED, lease_until=None
        )
    return expired


def _overdue(seconds: int, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=seconds)


def _lockable(queryset):
    """Rows a concurrent sweep is not already re-publishing (PostgreSQL skips
    them; elsewhere a duplicate message is harmless anyway)."""
    return queryset.select_for_update(skip_locked=True, of=("self",))


def batches_requeue_overdue(*, now: dt.datetime | None = None, limit: int = 5000) -> list[int]:
    """Queued batches of running campaigns whose message is older than
    TELEREG_MESSAGE_OVERDUE_SECONDS (lost with the broker's data, or never
    published): each is marked published now and returned for the caller to
    publish again. A paused campaign's batches wait for its resumption."""
    now = now or timezone.now()
    cutoff = _overdue(settings.TELEREG_MESSAGE_OVERDUE_SECONDS, now)
    overdue = DispatchBatch.objects.filter(
        Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, created_at__lt=cutoff),
        state=BatchState.QUEUED,
        campaign__state=CampaignState.RUNNING,
    )
    with transaction.atomic():
        ids = list(_lockable(overdue).order_by("pk").values_list("pk", flat=True)[:limit])
        overdue.filter(pk__in=ids).update(enqueued_at=now)
    return ids


def _awaiting_plan() -> QuerySet[Campaign]:
    """Campaigns whose planning message has work to do: planning, or running
    with requests waiting but no notice batch (a worker died between the end
    of planning and cutting the batches)."""
    batched = DispatchBatch.objects.filter(campaign=OuterRef("pk"), kind=NoticeKind.NOTICE, stage=0)
    waiting = ReverificationRequest.objects.filter(
        campaign=OuterRef("pk"), state=RequestState.PENDING
    )
    return Campaign.objects.filter(
        Q(state=CampaignState.PLANNING)
        | Q(Exists(waiting), ~Exists(batched), state=CampaignState.RUNNING)
    )


def _plan_lease(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=settings.TELEREG_DISPATCH_LEASE_SECONDS)


def plan_claim(*, campaign_id: int, now: dt.datetime | None = None) -> bool:
    """Claim a campaign's planning with a lease (a conditional UPDATE): of two
    messages for it (a redelivery, the sweep's), only one plans at a time."""
    now = now or timezone.now()
    return bool(
        _awaiting_plan()
        .filter(Q(plan_lease_until__isnull=True) | Q(plan_lease_until__lt=now), pk=campaign_id)
        .update(plan_lease_until=_plan_lease(now))
    )


def plan_renew(*, campaign_id: int) -> None:
    """Keep the planning lease while a long plan makes progress."""
    Campaign.objects.filter(pk=campaign_id).update(plan_lease_until=_plan_lease(timezone.now()))


def plan_release(*, campaign_id: int) -> None:
    Campaign.objects.filter(pk=campaign_id).update(plan_lease_until=None)


def plans_requeue_overdue(*, now: dt.datetime | None = None) -> list[int]:
    """Campaigns waiting on a planning message older than
    TELEREG_MESSAGE_OVERDUE_SECONDS and not being planned (no live lease):
    marked published now, returned for the caller to publish again."""
    now = now or timezone.now()
    cutoff = _overdue(settings.TELEREG_MESSAGE_OVERDUE_SECONDS, now)
    overdue = _awaiting_plan().filter(
        Q(plan_enqueued_at__lt=cutoff) | Q(plan_enqueued_at__isnull=True, launched_at__lt=cutoff),
        Q(plan_lease_until__isnull=True) | Q(plan_lease_until__lt=now),
    )
    with transaction.atomic():
        ids = list(_lockable(overdue).order_by("pk").values_list("pk", flat=True))
        Campaign.objects.filter(pk__in=ids).update(plan_enqueued_at=now)
    return ids


def delivery_progress(campaign: Campaign) -> dict[str, int]:
    return dict(
        Delivery.objects.filter(request__campaign=campaign)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
