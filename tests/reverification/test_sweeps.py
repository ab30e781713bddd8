"""Every row that waits on a message is published again when its message is
overdue (a broker restart without persistence loses every queued message),
and a duplicate message does nothing: each task claims its row first.

Time is controlled with the sweeps' ``now=`` argument; publishing is recorded
instead of reaching a broker."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from django.utils import timezone

from identity.authority import AuthorityResult, Outcome, utc_now
from operators.roles import Role
from registration import services, tasks
from registration.models import Transaction, TransactionState
from reverification import campaigns, dispatch
from reverification import tasks as reverification_tasks
from reverification.models import (
    BatchState,
    Campaign,
    CampaignState,
    DispatchBatch,
    NoticeKind,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, tuple]]:
    """What would have been published, as (task name, args), in order."""
    sent: list[tuple[str, tuple]] = []

    def record(task, *args, **options) -> bool:
        sent.append((task.name.rsplit(".", 1)[-1], args))
        return True

    monkeypatch.setattr(dispatch, "enqueue", record)
    monkeypatch.setattr(tasks, "enqueue", record)
    monkeypatch.setattr(reverification_tasks, "enqueue", record)
    monkeypatch.setattr(services, "enqueue", record)
    monkeypatch.setattr(campaigns, "enqueue", record)
    return sent


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def outbox_counts(path) -> Counter:
    if not path.exists():
        return Counter()
    return Counter(
        (json.loads(line)["kind"], json.loads(line)["request"], json.loads(line)["delivery"])
        for line in path.read_text().splitlines()
    )


@pytest.fixture
def launched(alpha, make_staff, open_mobile, published, django_capture_on_commit_callbacks):
    """A campaign over five lines, launched: its planning message is out."""
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    for _ in range(5):
        open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Sweeps",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    with django_capture_on_commit_callbacks(execute=True):
        return campaigns.campaign_launch(campaign=campaign, actor=officer.user)


def later(settings, seconds_past_overdue: int = 1, *, interactive: bool = False) -> dt.datetime:
    overdue = (
        settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS
        if interactive
        else settings.TELEREG_MESSAGE_OVERDUE_SECONDS
    )
    return timezone.now() + dt.timedelta(seconds=overdue + seconds_past_overdue)


def of(published, name: str) -> list[tuple]:
    return [args for task, args in published if task == name]


# --- batches ------------------------------------------------------------------------


def test_queued_batches_whose_message_is_overdue_are_published_again_once(
    launched, published, settings
):
    campaigns.campaign_plan(campaign=launched)
    ids = dispatch.batches_create(campaign=launched, size=2)
    dispatch.batches_enqueue(ids)
    assert len(of(published, "send_batch")) == 3
    published.clear()

    reverification_tasks.requeue_overdue_messages(now=timezone.now())
    assert of(published, "send_batch") == []  # not overdue yet: still waiting in the queue

    at = later(settings)
    reverification_tasks.requeue_overdue_messages(now=at)
    assert sorted(args[0] for args in of(published, "send_batch")) == sorted(ids)
    published.clear()
    reverification_tasks.requeue_overdue_messages(now=at + dt.timedelta(seconds=1))
    assert of(published, "send_batch") == []  # just published again: not overdue


def test_only_queued_batches_of_running_campaigns_are_swept(launched, published, settings):
    campaigns.campaign_plan(campaign=launched)
    first, second, third = dispatch.batches_create(campaign=launched, size=2)
    DispatchBatch.objects.filter(pk=first).update(state=BatchState.DONE)
    DispatchBatch.objects.filter(pk=second).update(
        state=BatchState.CLAIMED, lease_until=later(settings, 3600)
    )
    assert dispatch.batches_requeue_overdue(now=later(settings)) == [third]
    Campaign.objects.filter(pk=launched.pk).update(state=CampaignState.PAUSED)
    # A paused campaign's batches wait for its resumption, which publishes them.
    assert dispatch.batches_requeue_overdue(now=later(settings, 3600)) == []


def test_a_duplicate_batch_message_sends_nothing_twice(launched, published, settings, outbox):
    campaigns.campaign_plan(campaign=launched)
    ids = dispatch.batches_create(campaign=launched, size=2)
    dispatch.batches_enqueue(ids)
    reverification_tasks.requeue_overdue_messages(now=later(settings))
    messages = of(published, "send_batch")
    assert len(messages) == 2 * len(ids)  # the lost ones and the sweep's
    for (batch_id,) in messages:
        reverification_tasks.send_batch(batch_id)
    counts = outbox_counts(outbox)
    assert len(counts) == launched.requests.count() == 5
    assert set(counts.values()) == {1}


# --- planning -------------------------------------------------------------------------


def test_a_campaign_whose_planning_message_was_lost_is_planned_by_the_sweep(
    launched, published, settings
):
    assert of(published, "plan_campaign") == [(launched.pk,)]  # the launch's, then lost
    published.clear()
    reverification_tasks.requeue_overdue_messages(now=timezone.now())
    assert of(published, "plan_campaign") == []

    at = later(settings)
    reverification_tasks.requeue_overdue_messages(now=at)
    assert of(published, "plan_campaign") == [(launched.pk,)]
    reverification_tasks.requeue_overdue_messages(now=at + dt.timedelta(seconds=1))
    assert len(of(published, "plan_campaign")) == 1

    assert reverification_tasks.plan_campaign(launched.pk) == 5
    launched.refresh_from_db()
    assert launched.state == CampaignState.RUNNING
    batches = of(published, "send_batch")
    assert batches
    # A duplicate planning message now does nothing, and nothing is left to sweep.
    assert reverification_tasks.plan_campaign(launched.pk) == 0
    assert of(published, "send_batch") == batches
    assert dispatch.plans_requeue_overdue(now=later(settings, 3600)) == []


def test_a_planning_claimed_by_a_live_worker_is_left_alone_until_its_lease_ends(
    launched, published, settings
):
    settings.TELEREG_DISPATCH_LEASE_SECONDS = 2 * settings.TELEREG_MESSAGE_OVERDUE_SECONDS
    assert dispatch.plan_claim(campaign_id=launched.pk)  # a worker is planning
    assert reverification_tasks.plan_campaign(launched.pk) == 0  # the duplicate does nothing
    assert launched.requests.count() == 0
    assert dispatch.plans_requeue_overdue(now=later(settings)) == []
    # The worker died: once its lease has run out, the sweep publishes it again.
    past_lease = timezone.now() + dt.timedelta(
        seconds=max(
            settings.TELEREG_DISPATCH_LEASE_SECONDS, settings.TELEREG_MESSAGE_OVERDUE_SECONDS
        )
        + 1
    )
    assert dispatch.plans_requeue_overdue(now=past_lease) == [launched.pk]


def test_a_campaign_planned_but_never_cut_into_batches_is_swept(launched, published, settings):
    # A worker killed between the end of planning and cutting the batches.
    campaigns.campaign_plan(campaign=launched)
    launched.refresh_from_db()
    assert launched.state == CampaignState.RUNNING
    assert dispatch.plans_requeue_overdue(now=later(settings)) == [launched.pk]
    reverification_tasks.plan_campaign(launched.pk)
    assert DispatchBatch.objects.filter(campaign=launched, kind=NoticeKind.NOTICE).exists()
    assert dispatch.plans_requeue_overdue(now=later(settings, 3600)) == []


# --- pending verifications ---------------------------------------------------------------


class _Authority:
    name = "fake"

    def __init__(self, outcome: str) -> None:
        self.outcome = outcome
        self.calls = 0

    def verify(self, identity):
        self.calls += 1
        return AuthorityResult(self.outcome, "LOCAL-test", utc_now(), self.name)


@pytest.fixture
def waiting(alpha_clerk, consent, citizen, inventory, monkeypatch, published):
    """A mobile opening parked while the authority is down."""
    from identity import authority

    monkeypatch.setattr(authority, "get_backend", lambda: _Authority(Outcome.UNAVAILABLE))
    tx = services.transaction_submit(
        actor=alpha_clerk.user,
        request=services.TransactionRequest(
            kind="mobile_open", consent=consent, applicant=citizen()
        ),
    )
    assert tx.state == TransactionState.PENDING_VERIFICATION
    published.clear()
    return tx


def test_a_waiting_transaction_whose_check_is_overdue_is_published_again_once(
    waiting, published, settings
):
    due = waiting.next_verification_at
    tasks.sweep_pending_verifications(now=due + dt.timedelta(seconds=1))
    assert of(published, "verify_pending") == []  # due, but its message may be on its way

    at = due + dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    tasks.sweep_pending_verifications(now=at)
    assert of(published, "verify_pending") == [(waiting.pk,)]
    tasks.sweep_pending_verifications(now=at + dt.timedelta(seconds=1))
    assert len(of(published, "verify_pending")) == 1
    assert Transaction.objects.get(pk=waiting.pk).next_verification_at == at


def test_a_duplicate_verification_message_asks_the_authority_once(waiting, published, monkeypatch):
    from identity import authority

    down = _Authority(Outcome.UNAVAILABLE)
    monkeypatch.setattr(authority, "get_backend", lambda: down)
    Transaction.objects.filter(pk=waiting.pk).update(next_verification_at=timezone.now())
    tasks.verify_pending(waiting.pk)
    tasks.verify_pending(waiting.pk)  # the sweep's copy, or a redelivery
    assert down.calls == 1
    # Still down: exactly one next check is published, for when it is due.
    assert of(published, "verify_pending") == [(waiting.pk,)]
    tx = Transaction.objects.get(pk=waiting.pk)
    assert tx.state == TransactionState.PENDING_VERIFICATION
    assert tx.next_verification_at > timezone.now()


def test_a_long_backoff_is_left_to_the_sweep_instead_of_a_long_eta(
    waiting, published, monkeypatch, settings
):
    from identity import authority

    monkeypatch.setattr(authority, "get_backend", lambda: _Authority(Outcome.UNAVAILABLE))
    # Several checks failed already: the next one waits longer than an ETA should.
    Transaction.objects.filter(pk=waiting.pk).update(
        next_verification_at=timezone.now(), verification_attempts=4
    )
    tasks.verify_pending(waiting.pk)
    due = Transaction.objects.get(pk=waiting.pk).next_verification_at
    assert (due - timezone.now()).total_seconds() > tasks.LONGEST_COUNTDOWN
    assert of(published, "verify_pending") == []
    overdue = dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    assert tasks.sweep_pending_verifications(now=due + overdue) == 1
    assert of(published, "verify_pending") == [(waiting.pk,)]


def test_a_verification_message_before_its_check_is_due_does_nothing(
    waiting, published, monkeypatch
):
    from identity import authority

    up = _Authority(Outcome.MATCH)
    monkeypatch.setattr(authority, "get_backend", lambda: up)
    tasks.verify_pending(waiting.pk)
    assert up.calls == 0
    assert Transaction.objects.get(pk=waiting.pk).state == TransactionState.PENDING_VERIFICATION


def test_a_check_whose_worker_died_is_swept_after_its_lease(waiting, published, settings):
    now = timezone.now()
    Transaction.objects.filter(pk=waiting.pk).update(next_verification_at=now)
    assert services.pending_claim(transaction_id=waiting.pk, now=now)  # then the worker died
    assert not services.pending_claim(transaction_id=waiting.pk, now=now)
    overdue = dt.timedelta(seconds=settings.TELEREG_INTERACTIVE_OVERDUE_SECONDS + 1)
    assert tasks.sweep_pending_verifications(now=now + overdue) == 0
    assert tasks.sweep_pending_verifications(now=now + services.VERIFY_LEASE + overdue) == 1


# --- beat ----------------------------------------------------------------------------------


def test_beat_runs_every_sweep_at_least_once_a_minute(settings):
    from config.celery import app

    app.loader.import_default_modules()
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    for sweep in (
        "registration.tasks.requeue_overdue_messages",
        "registration.tasks.requeue_overdue_alerts",
        "registration.tasks.requeue_expired_batches",
        "registration.tasks.sweep_pending_verifications",
    ):
        assert sweep in app.tasks
        assert schedule[sweep] <= 60
