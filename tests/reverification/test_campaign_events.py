"""Every change of a campaign's state, and every extension of one of its
requests, records who made it (as TransactionEvent does for transactions),
in the change's own transaction; the console and the API show the history."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns
from reverification.models import (
    Campaign,
    CampaignAction,
    CampaignEvent,
    RequestState,
    ReverificationRequest,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def second_officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def draft(alpha, officer, open_mobile):
    for _ in range(2):
        open_mobile()
    return campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Events",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )


@pytest.fixture
def running(draft, officer):
    campaigns.campaign_launch(campaign=draft, actor=officer.user)
    campaigns.campaign_plan(campaign=draft)
    return Campaign.objects.get(pk=draft.pk)


def history(campaign) -> list[tuple]:
    return list(
        CampaignEvent.objects.filter(campaign=campaign)
        .order_by("at", "pk")
        .values_list("action", "from_state", "to_state", "actor", "actor_label")
    )


def test_launching_records_who_launched_it(draft, officer):
    campaigns.campaign_launch(campaign=draft, actor=officer.user)
    assert history(draft) == [
        ("launch", "draft", "planning", officer.user.pk, officer.user.username)
    ]


def test_pause_resume_and_close_each_record_their_actor(running, officer, second_officer):
    campaigns.campaign_pause(campaign=running, actor=second_officer.user)
    campaigns.campaign_resume(campaign=running, actor=officer.user)
    campaigns.campaign_close(campaign=running, actor=second_officer.user)
    assert history(running)[1:] == [
        ("pause", "running", "paused", second_officer.user.pk, second_officer.user.username),
        ("resume", "paused", "running", officer.user.pk, officer.user.username),
        ("close", "running", "finished", second_officer.user.pk, second_officer.user.username),
    ]


def test_a_change_made_by_the_system_is_recorded_as_system(running):
    campaigns.campaign_close(campaign=running, actor=None)
    assert history(running)[-1] == ("close", "running", "finished", None, "system")


def test_a_repeated_action_that_changes_nothing_records_nothing(running, officer):
    campaigns.campaign_pause(campaign=running, actor=officer.user)
    campaigns.campaign_pause(campaign=running, actor=officer.user)
    campaigns.campaign_launch(campaign=running, actor=officer.user)
    assert [event[0] for event in history(running)] == ["launch", "pause"]


def test_a_refused_action_records_nothing(draft, officer):
    with pytest.raises(campaigns.CampaignStateConflict):
        campaigns.campaign_pause(campaign=draft, actor=officer.user)
    assert history(draft) == []


def test_an_extension_records_its_actor_and_request_but_not_its_reason(running, second_officer):
    request = ReverificationRequest.objects.filter(campaign=running).order_by("pk").first()
    new_deadline = request.deadline + dt.timedelta(days=30)
    campaigns.request_extend(
        request=request,
        deadline=new_deadline,
        reason="In hospital, Zhang San",
        actor=second_officer.user,
    )
    event = CampaignEvent.objects.get(campaign=running, action=CampaignAction.EXTEND)
    assert (event.actor_id, event.actor_label) == (
        second_officer.user.pk,
        second_officer.user.username,
    )
    assert event.request_id == request.pk
    assert (event.from_state, event.to_state) == (RequestState.PENDING, RequestState.PENDING)
    assert str(request.pk) in event.note
    assert new_deadline.isoformat() in event.note
    assert "Zhang" not in event.note


def test_an_invalid_extension_records_nothing(running, officer):
    request = ReverificationRequest.objects.filter(campaign=running).first()
    with pytest.raises(campaigns.CampaignInvalid):
        campaigns.request_extend(request=request, deadline=request.deadline, reason="", actor=None)
    assert not CampaignEvent.objects.filter(action=CampaignAction.EXTEND).exists()


def test_the_api_detail_lists_the_campaigns_events_in_order(
    running, officer, second_officer, api_client_for
):
    api = api_client_for(second_officer)
    assert api.post(f"/api/v1/campaigns/{running.pk}/pause/").status_code == 200
    shown = api_client_for(officer).get(f"/api/v1/campaigns/{running.pk}/").json()
    assert [(e["action"], e["actor"]) for e in shown["events"]] == [
        ("launch", officer.user.username),
        ("pause", second_officer.user.username),
    ]
    assert shown["events"][1]["from_state"] == "running"
    assert shown["events"][1]["to_state"] == "paused"
    assert shown["events"][1]["request"] is None
    assert shown["state"] == "paused"  # the contract's fields are still there


def test_a_console_action_records_the_officer_and_the_page_shows_the_history(
    running, officer, second_officer, web_client_for
):
    changelist = reverse("console:reverification_campaign_changelist")
    client = web_client_for(second_officer)
    for action in ("pause", "resume"):
        response = client.post(changelist, {"action": action, "_selected_action": [running.pk]})
        assert response.status_code == 302
    assert [(e[0], e[3]) for e in history(running)[1:]] == [
        ("pause", second_officer.user.pk),
        ("resume", second_officer.user.pk),
    ]
    # Read by the other officer: the name on the page is the history's, not the header's.
    page = web_client_for(officer).get(
        reverse("console:reverification_campaign_change", args=[running.pk])
    )
    body = page.content.decode()
    assert second_officer.user.username in body
    assert "Paused" in body  # the campaign runs again: only its history says paused


def test_another_operators_officer_cannot_read_the_history(
    running, beta, make_staff, api_client_for
):
    outsider = make_staff(beta, Role.COMPLIANCE_OFFICER)
    assert api_client_for(outsider).get(f"/api/v1/campaigns/{running.pk}/").status_code == 404
