"""Re-verification campaigns: definition, preview, set-wise planning, states."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from identity.models import Person, VerificationStatus
from operators.roles import Role
from registration.models import Line
from reverification import campaigns, tokens
from reverification.models import Campaign, CampaignState, RequestState, ReverificationRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def officer_api(officer, api_client_for):
    return api_client_for(officer)


@pytest.fixture
def lines(open_mobile):
    """Six mobile lines; the holders of the first two never verified."""
    made = [open_mobile()[0].line for _ in range(6)]
    Person.objects.filter(pk__in=[made[0].holder_id, made[1].holder_id]).update(
        verification_status=VerificationStatus.NEVER, verified_at=None
    )
    return made


def make_campaign(alpha, officer, **criteria) -> Campaign:
    return campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Legacy prepaid",
            criteria={"line_kind": "mobile", **criteria},
            deadline=timezone.localdate() + dt.timedelta(days=30),
            reminder_days=[14, 7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )


def launch_and_plan(campaign, officer, **kw) -> int:
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    return campaigns.campaign_plan(campaign=campaign, **kw)


def test_preview_counts_the_matching_lines(alpha, officer, lines):
    assert campaigns.campaign_preview(campaign=make_campaign(alpha, officer)) == 6
    never = make_campaign(alpha, officer, holder_verification="never")
    assert campaigns.campaign_preview(campaign=never) == 2


def test_planning_creates_one_request_per_line_set_wise_in_small_chunks(alpha, officer, lines):
    campaign = make_campaign(alpha, officer)
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    assert campaigns.campaign_plan(campaign=campaign, chunk_size=2) == 6
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.RUNNING
    assert campaign.planned_count == 6
    assert set(campaign.requests.values_list("line_id", flat=True)) == {line.pk for line in lines}
    request = campaign.requests.first()
    assert request.state == RequestState.PENDING
    assert request.deadline == campaign.deadline
    assert request.person_id == Line.objects.get(pk=request.line_id).holder_id


def test_planning_costs_a_fixed_number_of_queries_not_one_per_line(
    alpha, officer, lines, django_assert_max_num_queries
):
    campaign = make_campaign(alpha, officer)
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    # One INSERT … SELECT for the whole range: six lines or a million, same count.
    with django_assert_max_num_queries(12):
        assert campaigns.campaign_plan(campaign=campaign) == 6


def test_planning_twice_adds_nothing(alpha, officer, lines):
    campaign = make_campaign(alpha, officer)
    launch_and_plan(campaign, officer)
    assert campaigns.campaign_plan(campaign=campaign) == 6
    assert ReverificationRequest.objects.count() == 6


def test_a_line_waiting_in_a_running_campaign_is_not_planned_again(alpha, officer, lines):
    first = make_campaign(alpha, officer, holder_verification="never")
    launch_and_plan(first, officer)
    second = make_campaign(alpha, officer)
    assert launch_and_plan(second, officer) == 4


def test_criteria_registered_before_and_stores(alpha, officer, lines):
    Line.objects.filter(pk=lines[0].pk).update(
        registered_at=timezone.now() - dt.timedelta(days=400)
    )
    old = make_campaign(
        alpha,
        officer,
        registered_before=(timezone.localdate() - dt.timedelta(days=100)).isoformat(),
    )
    assert campaigns.campaign_preview(campaign=old) == 1
    other_store = make_campaign(alpha, officer, stores=[])
    assert campaigns.campaign_preview(campaign=other_store) == 6


def test_verification_older_than_days(alpha, officer, lines):
    Person.objects.filter(pk=lines[2].holder_id).update(
        verified_at=timezone.now() - dt.timedelta(days=500)
    )
    campaign = make_campaign(alpha, officer, holder_verification={"older_than_days": 365})
    # the two never-verified holders plus the stale one
    assert campaigns.campaign_preview(campaign=campaign) == 3


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        ({"line_kind": "fax"}, "criteria.line_kind"),
        ({"holder_verification": "sometimes"}, "criteria.holder_verification"),
        ({"holder_verification": {"older_than_days": 0}}, "criteria.holder_verification"),
        ({"registered_before": "yesterday"}, "criteria.registered_before"),
        ({"stores": ["nowhere"]}, "criteria.stores"),
        ({"colour": "blue"}, "criteria.colour"),
    ],
)
def test_invalid_criteria_are_refused_naming_the_key(alpha, officer, criteria, field):
    with pytest.raises(campaigns.CampaignInvalid) as info:
        make_campaign(alpha, officer, **criteria)
    assert field in info.value.fields
    assert not Campaign.objects.exists()


def test_pause_resume_and_close(alpha, officer, lines):
    campaign = make_campaign(alpha, officer)
    with pytest.raises(campaigns.CampaignStateConflict):
        campaigns.campaign_pause(campaign=campaign, actor=officer.user)
    launch_and_plan(campaign, officer)
    assert campaigns.campaign_pause(campaign=campaign, actor=officer.user).state == "paused"
    assert campaigns.campaign_resume(campaign=campaign, actor=officer.user).state == "running"
    closed = campaigns.campaign_close(campaign=campaign, actor=officer.user)
    assert closed.state == "finished"
    assert not campaign.requests.filter(state=RequestState.PENDING).exists()


def test_tokens_are_unguessable_repeatable_and_name_their_request(alpha, officer, lines):
    campaign = make_campaign(alpha, officer)
    launch_and_plan(campaign, officer)
    request = campaign.requests.first()
    token = tokens.request_token(request.pk)
    assert token == tokens.request_token(request.pk)
    assert tokens.request_from_token(token) == request
    forged = f"{request.pk}.{'0' * 32}"
    assert tokens.request_from_token(forged) is None
    assert tokens.request_from_token("garbage") is None


# --- API --------------------------------------------------------------------------------


def test_campaign_api_create_preview_launch_and_progress(
    officer_api, lines, django_capture_on_commit_callbacks
):
    body = {
        "name": "Legacy prepaid 2026",
        "criteria": {"line_kind": "mobile", "holder_verification": "never"},
        "deadline": (timezone.localdate() + dt.timedelta(days=60)).isoformat(),
        "reminder_days": [14, 7, 2],
        "channels": ["file"],
    }
    created = officer_api.post("/api/v1/campaigns/", body, format="json")
    assert created.status_code == 201, created.json()
    campaign_id = created.json()["id"]
    assert created.json()["state"] == "draft"
    assert officer_api.get(f"/api/v1/campaigns/{campaign_id}/preview/").json() == {"lines": 2}
    with django_capture_on_commit_callbacks() as callbacks:
        launched = officer_api.post(f"/api/v1/campaigns/{campaign_id}/launch/")
    assert launched.json()["state"] == "planning"
    assert len(callbacks) == 1  # the planning task, queued after commit
    campaigns.campaign_plan(campaign=Campaign.objects.get(pk=campaign_id))
    progress = officer_api.get(f"/api/v1/campaigns/{campaign_id}/").json()["progress"]
    assert progress["requests"] == 2
    assert progress["by_state"] == {"pending": 2}
    assert officer_api.post(f"/api/v1/campaigns/{campaign_id}/pause/").json()["state"] == "paused"
    assert officer_api.post(f"/api/v1/campaigns/{campaign_id}/resume/").json()["state"] == "running"


def test_campaign_api_refuses_bad_input_with_fields(officer_api):
    response = officer_api.post(
        "/api/v1/campaigns/",
        {
            "name": "x",
            "criteria": {"line_kind": "fax"},
            "deadline": "2000-01-01",
            "channels": ["fax"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert {"criteria.line_kind", "deadline", "channels"} <= set(response.json()["error"]["fields"])


def test_clerk_cannot_manage_campaigns_and_other_operator_sees_404(
    alpha, beta, officer, make_staff, api_client_for, lines
):
    campaign = make_campaign(alpha, officer)
    clerk = api_client_for(make_staff(alpha, Role.CLERK))
    assert clerk.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 403
    outsider = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert outsider.get(f"/api/v1/campaigns/{campaign.pk}/").status_code == 404
    assert outsider.post(f"/api/v1/campaigns/{campaign.pk}/launch/").status_code == 404


def test_compliance_defines_and_launches_a_campaign_in_the_console(
    officer, lines, web_client_for, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from tests.reverification.campaign_form import campaign_form_data

    client = web_client_for(officer)
    add = reverse("console:reverification_campaign_add")
    bad = client.post(add, campaign_form_data(line_kinds=["fax"]))
    assert bad.status_code == 200
    assert "line_kinds" in bad.context["adminform"].form.errors
    assert not Campaign.objects.exists()
    ok = client.post(add, campaign_form_data())
    assert ok.status_code == 302
    campaign = Campaign.objects.get()
    page = client.get(reverse("console:reverification_campaign_change", args=[campaign.pk]))
    assert "lines matching now" in page.content.decode().lower()
    launch = reverse("console:reverification_campaign_launch", args=[campaign.pk])
    assert launch in page.content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(launch, {"launch": "1"})
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PLANNING
    assert len(callbacks) == 1


def test_operator_admin_cannot_open_campaigns(alpha, make_staff, web_client_for):
    from django.urls import reverse

    client = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    assert client.get(reverse("console:reverification_campaign_changelist")).status_code == 403
