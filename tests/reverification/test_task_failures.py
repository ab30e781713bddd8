"""A re-verification task that fails for good marks its row failed with a
reason (the task's short code and the error's class, never data), and the
console and the API show it: a campaign's planning, a batch's sending.
Tasks run eagerly with ``apply(throw=False)``: Celery calls the same
``on_failure`` as in a worker, after the same retries."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns, dispatch, tasks
from reverification.models import (
    BatchState,
    Campaign,
    CampaignState,
    DispatchBatch,
)

pytestmark = pytest.mark.django_db

# What an exception's message may carry; it must never reach a row or a log.
SECRET = "+8613912345678 ZHANG SAN"


def boom(exc_class=RuntimeError):
    def fail(*args, **kwargs):
        raise exc_class(SECRET)

    return fail


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def planning(alpha, officer, open_mobile):
    """A campaign over three lines, launched (its planning not run yet)."""
    for _ in range(3):
        open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Failures",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    return campaigns.campaign_launch(campaign=campaign, actor=officer.user)


@pytest.fixture
def batch(planning, monkeypatch):
    """The planning campaign planned and cut into one queued batch."""
    monkeypatch.setattr(dispatch, "enqueue", lambda *args, **kwargs: True)
    campaigns.campaign_plan(campaign=planning)
    (batch_id,) = dispatch.batches_create(campaign=planning)
    return DispatchBatch.objects.get(pk=batch_id)


def test_a_failed_planning_marks_its_campaign(planning, monkeypatch, caplog):
    monkeypatch.setattr(campaigns, "campaign_plan", boom())
    with caplog.at_level(logging.ERROR):
        result = tasks.plan_campaign.apply(args=[planning.pk], throw=False)
    assert result.failed()
    campaign = Campaign.objects.get(pk=planning.pk)
    assert campaign.failure == "planning: RuntimeError"
    assert campaign.failed_at is not None
    assert campaign.state == CampaignState.PLANNING
    assert "planning: RuntimeError" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in campaign.failure


def test_a_plan_that_succeeds_after_a_failure_clears_it(planning, monkeypatch):
    monkeypatch.setattr(dispatch, "enqueue", lambda *args, **kwargs: True)
    Campaign.objects.filter(pk=planning.pk).update(
        failure="planning: RuntimeError", failed_at=timezone.now()
    )
    assert tasks.plan_campaign.apply(args=[planning.pk]).get() == 3
    campaign = Campaign.objects.get(pk=planning.pk)
    assert (campaign.failure, campaign.failed_at) == ("", None)
    assert campaign.state == CampaignState.RUNNING


def test_a_planning_failure_is_shown_in_the_api_and_the_console(
    planning, monkeypatch, officer, api_client_for, web_client_for
):
    monkeypatch.setattr(campaigns, "campaign_plan", boom(OSError))
    tasks.plan_campaign.apply(args=[planning.pk], throw=False)
    shown = api_client_for(officer).get(f"/api/v1/campaigns/{planning.pk}/").json()
    assert shown["failure"] == "planning: OSError"
    assert shown["failed_at"] is not None
    page = web_client_for(officer).get(
        reverse("console:reverification_campaign_change", args=[planning.pk])
    )
    assert "planning: OSError" in page.content.decode()


def test_a_batch_whose_retries_are_exhausted_is_marked_failed_and_not_swept(
    batch, monkeypatch, settings
):
    calls = []

    def unreachable(*, batch_id, worker):
        calls.append(batch_id)
        raise OSError(SECRET)

    monkeypatch.setattr(dispatch, "batch_send", unreachable)
    result = tasks.send_batch.apply(args=[batch.pk], throw=False)
    assert result.failed()
    assert len(calls) == 1 + tasks.send_batch.max_retries  # retried first, then gave up
    batch.refresh_from_db()
    assert batch.state == BatchState.FAILED
    assert batch.error == "sending: OSError"
    assert batch.failed_at is not None
    assert batch.lease_until is None
    later = timezone.now() + dt.timedelta(days=1)
    assert batch.pk not in dispatch.batches_requeue_overdue(now=later)
    assert batch.pk not in dispatch.batches_requeue_expired(now=later)


def test_a_batch_failing_with_a_bug_is_marked_failed_at_once(batch, monkeypatch):
    calls = []

    def broken(*, batch_id, worker):
        calls.append(batch_id)
        raise KeyError(SECRET)

    monkeypatch.setattr(dispatch, "batch_send", broken)
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    assert calls == [batch.pk]  # not a transient error: no retry
    batch.refresh_from_db()
    assert (batch.state, batch.error) == (BatchState.FAILED, "sending: KeyError")


def test_a_batch_already_done_stays_done_when_a_late_duplicate_fails(batch, monkeypatch):
    DispatchBatch.objects.filter(pk=batch.pk).update(state=BatchState.DONE)
    monkeypatch.setattr(dispatch, "batch_send", boom())
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    batch.refresh_from_db()
    assert (batch.state, batch.error) == (BatchState.DONE, "")


def test_failed_batches_are_shown_on_the_campaign_console_page(
    batch, monkeypatch, officer, web_client_for
):
    monkeypatch.setattr(dispatch, "batch_send", boom(ValueError))
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    page = web_client_for(officer).get(
        reverse("console:reverification_campaign_change", args=[batch.campaign_id])
    )
    body = page.content.decode()
    assert f"#{batch.pk} sending: ValueError" in body
    assert SECRET not in body


def test_a_failure_hook_that_fails_itself_is_logged_not_raised(planning, monkeypatch, caplog):
    monkeypatch.setattr(campaigns, "campaign_plan", boom())
    monkeypatch.setattr(
        tasks.failures, "campaign_failure_record", boom(LookupError)
    )  # e.g. the database is gone too
    with caplog.at_level(logging.ERROR):
        result = tasks.plan_campaign.apply(args=[planning.pk], throw=False)
    assert isinstance(result.result, RuntimeError)
    assert f"could not record the failure of {tasks.plan_campaign.name}: LookupError" in (
        caplog.text
    )
    assert SECRET not in caplog.text


def test_the_campaign_list_shows_planning_and_batch_failures(
    batch, monkeypatch, officer, web_client_for
):
    monkeypatch.setattr(dispatch, "batch_send", boom(ValueError))
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    Campaign.objects.filter(pk=batch.campaign_id).update(failure="planning: OSError")
    client = web_client_for(officer)
    listing = client.get(reverse("console:reverification_campaign_changelist")).content.decode()
    assert "planning: OSError; 1 batch failed" in listing
    assert SECRET not in listing


def test_a_failing_duplicate_never_fails_a_batch_another_worker_is_sending(batch, monkeypatch):
    DispatchBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.CLAIMED,
        claimed_by="other@host",
        lease_until=timezone.now() + dt.timedelta(minutes=5),
    )
    monkeypatch.setattr(dispatch, "batch_send", boom(KeyError))
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    batch.refresh_from_db()
    assert (batch.state, batch.claimed_by, batch.error) == (BatchState.CLAIMED, "other@host", "")


def test_a_batch_whose_claim_expired_is_marked_failed_by_a_failing_message(batch, monkeypatch):
    DispatchBatch.objects.filter(pk=batch.pk).update(
        state=BatchState.CLAIMED,
        claimed_by="dead@host",
        lease_until=timezone.now() - dt.timedelta(minutes=5),
    )
    monkeypatch.setattr(dispatch, "batch_send", boom(KeyError))
    tasks.send_batch.apply(args=[batch.pk], throw=False)
    batch.refresh_from_db()
    assert (batch.state, batch.error) == (BatchState.FAILED, "sending: KeyError")
