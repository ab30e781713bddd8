"""One campaign's failure in the re-verification cycle is recorded on its row,
shown, and logged, while every other campaign is still reminded, expired and
barred; the error clears on the next run that succeeds."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.roles import Role
from registration.models import LineStatus
from reverification import campaigns
from reverification.models import Campaign, RequestState

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


def _running(alpha, officer, name: str) -> Campaign:
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name=name,
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    return Campaign.objects.get(pk=campaign.pk)


@pytest.fixture
def two_campaigns(alpha, officer, open_mobile):
    """Two running campaigns, one line each (the second planned after the
    first, so it only finds the line opened meanwhile)."""
    open_mobile()
    broken = _running(alpha, officer, "Broken")
    open_mobile()
    healthy = _running(alpha, officer, "Healthy")
    assert broken.requests.count() == healthy.requests.count() == 1
    return broken, healthy


@pytest.fixture
def broken_expiry(monkeypatch, two_campaigns):
    broken, _ = two_campaigns
    real = campaigns._campaign_expire

    def expire(campaign, **kwargs):
        if campaign.pk == broken.pk:
            raise OverflowError("date value out of range")
        return real(campaign, **kwargs)

    monkeypatch.setattr(campaigns, "_campaign_expire", expire)
    return monkeypatch


def test_a_failing_campaign_does_not_stop_the_others_from_expiring_and_barring(
    two_campaigns, broken_expiry, caplog
):
    broken, healthy = two_campaigns
    after_deadline = timezone.now() + dt.timedelta(days=12)
    with caplog.at_level(logging.ERROR, logger="reverification.campaigns"):
        result = campaigns.reverification_cycle(now=after_deadline)
    assert result.failed == (broken.pk,)
    assert (result.expired, result.barred) == (1, 1)
    done = healthy.requests.get()
    assert done.state == RequestState.EXPIRED
    assert done.line.status == LineStatus.BARRED_OUTGOING
    waiting = broken.requests.get()
    assert waiting.state == RequestState.PENDING
    assert waiting.line.status == LineStatus.ACTIVE
    broken.refresh_from_db()
    healthy.refresh_from_db()
    assert broken.cycle_error == "expiry: OverflowError"
    assert broken.cycle_failed_at == after_deadline
    assert healthy.cycle_error == ""
    assert any(f"campaign {broken.pk} failed at expiry" in r.getMessage() for r in caplog.records)


def test_a_failing_campaign_does_not_stop_the_others_reminders(two_campaigns, broken_expiry):
    broken, healthy = two_campaigns
    reminder_day = timezone.now() + dt.timedelta(days=4)  # 6 days left: the 7-day stage
    result = campaigns.reverification_cycle(now=reminder_day)
    assert result.failed == (broken.pk,)
    assert set(healthy.batches.values_list("pk", flat=True)) == set(result.batches)
    assert healthy.batches.filter(kind="reminder", stage=7).count() == 1
    # The broken campaign's reminder was rolled back with the rest of its step.
    assert not broken.batches.filter(kind="reminder").exists()


def test_the_error_clears_on_the_next_successful_run(two_campaigns, broken_expiry):
    broken, _ = two_campaigns
    after_deadline = timezone.now() + dt.timedelta(days=12)
    campaigns.reverification_cycle(now=after_deadline)
    broken_expiry.undo()
    result = campaigns.reverification_cycle(now=after_deadline)
    assert result.failed == ()
    assert result.expired == 1
    broken.refresh_from_db()
    assert (broken.cycle_error, broken.cycle_failed_at) == ("", None)
    assert broken.requests.get().line.status == LineStatus.BARRED_OUTGOING


def test_a_failing_operator_step_is_recorded_and_the_expiry_still_happens(
    two_campaigns, monkeypatch
):
    broken, healthy = two_campaigns

    def fail(moment, days):
        raise RuntimeError("suspension step broke")

    monkeypatch.setattr(campaigns, "days_before", fail)
    result = campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    assert result.expired == 2
    assert set(result.failed) == {broken.pk, healthy.pk}
    broken.refresh_from_db()
    assert broken.cycle_error == "suspension: RuntimeError"


def test_the_failure_is_shown_in_the_api_and_the_console(
    two_campaigns, broken_expiry, officer, api_client_for, web_client_for
):
    broken, healthy = two_campaigns
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    api = api_client_for(officer)
    shown = api.get(f"/api/v1/campaigns/{broken.pk}/").json()
    assert shown["cycle_error"] == "expiry: OverflowError"
    assert shown["cycle_failed_at"] is not None
    assert api.get(f"/api/v1/campaigns/{healthy.pk}/").json()["cycle_error"] == ""
    client = web_client_for(officer)
    listing = client.get(reverse("console:reverification_campaign_changelist")).content.decode()
    assert "expiry: OverflowError" in listing
    page = client.get(reverse("console:reverification_campaign_change", args=[broken.pk]))
    assert "expiry: OverflowError" in page.content.decode()


def test_a_database_error_in_one_campaign_leaves_the_others_work_intact(two_campaigns, monkeypatch):
    from django.db import connection

    broken, healthy = two_campaigns
    real = campaigns._campaign_expire

    def expire(campaign, **kwargs):
        if campaign.pk == broken.pk:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM telereg_no_such_table")
        return real(campaign, **kwargs)

    monkeypatch.setattr(campaigns, "_campaign_expire", expire)
    result = campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    assert result.failed == (broken.pk,)
    assert healthy.requests.get().state == RequestState.EXPIRED
    broken.refresh_from_db()
    assert broken.cycle_error.startswith("expiry: ")
    assert broken.requests.get().state == RequestState.PENDING
