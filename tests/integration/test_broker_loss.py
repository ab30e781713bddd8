"""The broker loses every queued message (FLUSHDB: what a Redis restart without
persistence leaves) before a real worker consumes them: the sweep publishes
again what the rows still wait on, and every notice is sent exactly once."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from identity import services as identity_services
from identity.authority import AuthorityResult, Outcome, utc_now
from operators.roles import Role
from registration import services, tasks
from registration.models import (
    AlertMessageState,
    HolderAlert,
    HolderAlertMessage,
    Line,
    LineKind,
    LineStatus,
    Transaction,
    TransactionState,
)
from reverification import campaigns, dispatch
from reverification import tasks as reverification_tasks
from reverification.models import BatchState, CampaignState, Delivery, DeliveryState, DispatchBatch
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.integration]

LINES = 258


@pytest.fixture
def campaign(alpha, alpha_clerk, consent, citizen, make_staff):
    """258 lines of one synthetic holder and a campaign over them (a draft)."""
    holder = identity_services.person_register(
        operator=alpha, identity=citizen(), consent=consent, channel="store", actor=None
    )
    Line.objects.bulk_create(
        [
            Line(
                number=f"+86139{n:08d}",
                kind=LineKind.MOBILE,
                operator=alpha,
                holder=holder,
                store=alpha_clerk.store,
            )
            for n in range(LINES)
        ]
    )
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    return campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Broker loss",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )


def queued_messages() -> int:
    """Messages waiting in the test broker (Redis lists, or the filesystem queue)."""
    if app.conf.broker_url.startswith("redis"):
        import redis

        client = redis.Redis.from_url(app.conf.broker_url)
        return sum(client.llen(name) for name in ("default", "interactive", "campaigns"))
    return len(list(Path(app.conf.broker_transport_options["data_folder_in"]).glob("*")))


def flush_broker() -> None:
    """Lose every queued message, as a restart without persistence does."""
    if app.conf.broker_url.startswith("redis"):
        import redis

        redis.Redis.from_url(app.conf.broker_url).flushdb()
    else:
        for path in Path(app.conf.broker_transport_options["data_folder_in"]).glob("*"):
            path.unlink()
    assert queued_messages() == 0


def sent() -> int:
    return Delivery.objects.filter(state=DeliveryState.SENT).count()


def outbox_requests(path: Path) -> Counter:
    return Counter(json.loads(line)["request"] for line in path.read_text().splitlines())


def overdue_now(after: dt.datetime) -> dt.datetime:
    """A controlled "now": just past the overdue time of a message sent ``after``."""
    return after + dt.timedelta(seconds=settings.TELEREG_MESSAGE_OVERDUE_SECONDS + 1)


def test_batches_lost_with_the_broker_are_sent_exactly_once_after_the_sweep(
    campaign, celery_workers, tmp_path
):
    # Launched and planned with no worker running; one message per batch queued.
    campaigns.campaign_launch(campaign=campaign, actor=None)
    campaigns.campaign_plan(campaign=campaign)
    batch_ids = dispatch.batches_create(campaign=campaign, size=40)
    dispatch.batches_enqueue(batch_ids)
    assert len(batch_ids) == 7
    assert queued_messages() >= len(batch_ids)
    flush_broker()
    celery_workers(TELEREG_OUTBOX_DIR=str(tmp_path / "outbox"))
    # The worker finds nothing to do: the rows still say "queued".
    assert DispatchBatch.objects.filter(state=BatchState.QUEUED).count() == 7

    published_at = timezone.now()
    assert reverification_tasks.requeue_overdue_messages(now=overdue_now(published_at)) == 7
    # Duplicates (a second sweep, a late copy of a lost message) change nothing.
    dispatch.batches_enqueue(batch_ids)
    assert wait_for(lambda: sent() == LINES, timeout=120)
    assert wait_for(lambda: queued_messages() == 0, timeout=60)
    assert DispatchBatch.objects.filter(state=BatchState.DONE).count() == 7
    counts = outbox_requests(tmp_path / "outbox" / "file.jsonl")
    assert len(counts) == LINES
    assert set(counts.values()) == {1}


def test_a_planning_message_lost_with_the_broker_is_planned_and_sent_after_the_sweep(
    campaign, celery_workers, tmp_path
):
    campaigns.campaign_launch(campaign=campaign, actor=None)  # publishes the planning
    assert queued_messages() == 1
    flush_broker()
    celery_workers(TELEREG_OUTBOX_DIR=str(tmp_path / "outbox"), TELEREG_DISPATCH_BATCH="50")
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PLANNING

    assert reverification_tasks.requeue_overdue_messages(now=overdue_now(campaign.launched_at)) == 1
    reverification_tasks.requeue_overdue_messages(
        now=overdue_now(overdue_now(campaign.launched_at))
    )
    assert wait_for(lambda: sent() == LINES, timeout=120)
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING
    assert campaign.planned_count == LINES
    counts = outbox_requests(tmp_path / "outbox" / "file.jsonl")
    assert len(counts) == LINES
    assert set(counts.values()) == {1}


class _Down:
    name = "down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-test", utc_now(), self.name)


def test_a_waiting_verification_lost_with_the_broker_completes_after_the_sweep(
    alpha_clerk, consent, citizen, inventory, celery_workers, monkeypatch
):
    from identity import authority

    monkeypatch.setattr(authority, "get_backend", lambda: _Down())
    tx = services.transaction_submit(
        actor=alpha_clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open", consent=consent, applicant=citizen()
        ),
    )
    monkeypatch.undo()
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert queued_messages() == 1  # its check, due in 30 s
    flush_broker()
    celery_workers()
    # Time passes (the row moves back, not the clock): the check is overdue.
    overdue = dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    Transaction.objects.filter(pk=tx.pk).update(next_verification_at=timezone.now() - overdue)
    assert tasks.sweep_pending_verifications() == 1
    assert wait_for(
        lambda: Transaction.objects.get(pk=tx.pk).state == TransactionState.COMPLETED,
        timeout=60,
    )
    assert Transaction.objects.get(pk=tx.pk).line.status == LineStatus.ACTIVE


def test_holder_alerts_lost_with_the_broker_are_sent_once_after_the_sweep(
    alpha_clerk, consent, citizen, inventory, celery_workers, tmp_path
):
    identity = citizen()
    for _ in range(2):  # the second line's alert goes to the first line
        tx = services.transaction_submit(
            actor=alpha_clerk.user,
            request=services.TransactionRequest(
                kind="mobile_open", consent=consent, applicant=identity
            ),
        )
        assert tx.state == TransactionState.COMPLETED
    assert queued_messages() == 2
    flush_broker()
    celery_workers(TELEREG_OUTBOX_DIR=str(tmp_path / "outbox"))
    later = timezone.now() + dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    assert tasks.requeue_overdue_alerts(now=later) == 2
    tasks.send_holder_alert.apply_async(args=[tx.pk])  # a duplicate changes nothing
    assert wait_for(
        lambda: not HolderAlert.objects.filter(done_at__isnull=True).exists(), timeout=60
    )
    assert wait_for(lambda: queued_messages() == 0, timeout=60)
    deliveries = Counter(
        json.loads(line)["delivery"]
        for line in (tmp_path / "outbox" / "file.jsonl").read_text().splitlines()
    )
    # Each (transaction, other line) once: late, the first opening's alert also
    # reaches the second line, which exists by then.
    sent_alerts = {
        message.channel_key
        for message in HolderAlertMessage.objects.filter(state=AlertMessageState.SENT)
    }
    assert set(deliveries) == sent_alerts
    assert set(deliveries.values()) == {1}
    assert HolderAlertMessage.objects.filter(alert__transaction=tx).count() == 1
    assert not Delivery.objects.exists()  # an alert is not a request delivery
