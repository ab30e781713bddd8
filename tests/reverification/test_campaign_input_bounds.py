"""Every number and date in campaign and extension input is bounded: bad
input is a 400 naming the field, nothing is stored, and values stored before
the bounds existed break no page, preview or cycle."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns, tokens
from reverification.models import Campaign, RequestState, ReverificationRequest
from tests.helpers import identity_form_fields
from tests.reverification.campaign_form import campaign_form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def officer_api(officer, api_client_for):
    return api_client_for(officer)


def _body(**overrides):
    body = {
        "name": "Bounded",
        "criteria": {"line_kind": "mobile"},
        "deadline": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "reminder_days": [14, 7, 2],
        "channels": ["file"],
    }
    body.update(overrides)
    return body


def _far(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reminder_days": [1_000_000]}, "reminder_days"),
        ({"reminder_days": [366]}, "reminder_days"),
        ({"reminder_days": [7, 7]}, "reminder_days"),
        ({"reminder_days": list(range(1, 12))}, "reminder_days"),
        ({"deadline": "9999-12-31"}, "deadline"),
        ({"deadline": _far(campaigns.DEADLINE_HORIZON_DAYS + 1)}, "deadline"),
        ({"criteria": {"holder_verification": {"older_than_days": True}}}, None),
        ({"criteria": {"holder_verification": {"older_than_days": 10**9}}}, None),
        ({"criteria": {"holder_verification": {"older_than_days": 36_501}}}, None),
        ({"criteria": {"registered_before": "9999-12-31"}}, "criteria.registered_before"),
        ({"criteria": {"registered_before": "0001-01-01"}}, "criteria.registered_before"),
        ({"criteria": {"registered_before": 20200101}}, "criteria.registered_before"),
        ({"criteria": {"regions": ["north\x00"]}}, "criteria.regions"),
        ({"criteria": {"stores": ["shop\x00"]}}, "criteria.stores"),
        ({"criteria": {"regions": ["x" * 33]}}, "criteria.regions"),
        ({"criteria": {"regions": ["r"] * 501}}, "criteria.regions"),
    ],
)
def test_campaign_api_refuses_unbounded_input_naming_the_field_and_stores_nothing(
    officer_api, overrides, field
):
    response = officer_api.post("/api/v1/campaigns/", _body(**overrides), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    field = field or "criteria.holder_verification"
    assert any(key == field or key.startswith(f"{field}.") for key in error["fields"])
    assert "\x00" not in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_criteria_key_with_a_nul_byte_is_not_echoed_back(officer_api):
    response = officer_api.post(
        "/api/v1/campaigns/", _body(criteria={"evil\x00key": 1}), format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"criteria"}


def test_values_at_the_bounds_are_accepted_and_one_past_them_refused(officer_api):
    edge = _body(
        deadline=_far(campaigns.DEADLINE_HORIZON_DAYS),
        reminder_days=[365, 1],
        criteria={
            "holder_verification": {"older_than_days": 36_500},
            "registered_before": "1970-01-01",
        },
    )
    response = officer_api.post("/api/v1/campaigns/", edge, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["reminder_days"] == [365, 1]
    past = _body(criteria={"registered_before": "1969-12-31"})
    response = officer_api.post("/api/v1/campaigns/", past, format="json")
    assert response.status_code == 400
    assert "criteria.registered_before" in response.json()["error"]["fields"]
    assert Campaign.objects.count() == 1


def test_console_campaign_form_refuses_an_unbounded_reminder_day(officer, web_client_for):
    client = web_client_for(officer)
    response = client.post(
        reverse("console:reverification_campaign_add"),
        campaign_form_data(
            holder_verification="older",
            older_than_days="true",
            deadline="9999-12-31",
            reminder_days="1000000",
        ),
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"reminder_days", "deadline", "older_than_days"} <= set(form.errors)
    assert not Campaign.objects.exists()


def test_console_campaign_form_refuses_oversized_and_nul_input(officer, web_client_for):
    client = web_client_for(officer)
    add = reverse("console:reverification_campaign_add")
    response = client.post(
        add, campaign_form_data(reminder_days="[" * 100_000, older_than_days="9" * 5000)
    )
    assert response.status_code == 200
    assert {"older_than_days", "reminder_days"} <= set(response.context["adminform"].form.errors)
    assert client.post(add, campaign_form_data(name="Console\x00")).status_code == 400
    assert not Campaign.objects.exists()


# --- Values stored before the bounds ---------------------------------------------------


@pytest.fixture
def planned_with_identity(alpha, officer, open_mobile):
    """A running campaign over one line: (its request, the holder's identity)."""
    _, identity = open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Stored",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    return campaign.requests.get(), identity


@pytest.fixture
def planned(planned_with_identity):
    request, _ = planned_with_identity
    return Campaign.objects.get(pk=request.campaign_id)


def test_preview_of_a_stored_huge_older_than_days_answers_instead_of_failing(planned, officer_api):
    Campaign.objects.filter(pk=planned.pk).update(
        criteria={"holder_verification": {"older_than_days": 10**9}}
    )
    response = officer_api.get(f"/api/v1/campaigns/{planned.pk}/preview/")
    assert response.status_code == 200
    assert response.json() == {"lines": 0}  # every line is in this campaign already


def test_answer_on_the_link_page_of_a_request_with_a_far_deadline_verifies(
    planned_with_identity, consent, client
):
    request, identity = planned_with_identity
    ReverificationRequest.objects.filter(pk=request.pk).update(deadline=dt.date.max)
    form = {**identity_form_fields(identity), "consent": "on", "notice": consent.notice_hash}
    response = client.post(f"/r/{tokens.request_token(request.pk)}", form)
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.state == RequestState.VERIFIED


def test_cycle_survives_a_stored_huge_reminder_day_and_a_far_deadline(planned):
    Campaign.objects.filter(pk=planned.pk).update(reminder_days=[1_000_000])
    result = campaigns.reverification_cycle(now=timezone.now())
    assert result.failed == ()
    assert result.batches == ()  # a stage out of bounds is skipped, not sent
    Campaign.objects.filter(pk=planned.pk).update(reminder_days=[7], deadline=dt.date.max)
    assert campaigns.reverification_cycle(now=timezone.now()).failed == ()


# --- Extensions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"deadline": "9999-12-31", "reason": "travel abroad"}, "deadline"),
        ({"deadline": _far(campaigns.DEADLINE_HORIZON_DAYS + 1), "reason": "ill"}, "deadline"),
    ],
)
def test_extension_refuses_unbounded_input_and_changes_nothing(planned, officer_api, body, field):
    request = planned.requests.get()
    response = officer_api.post(
        f"/api/v1/reverification-requests/{request.pk}/extend/", body, format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    request.refresh_from_db()
    assert request.deadline == planned.deadline
    assert request.state == RequestState.PENDING
    assert request.extension_reason == ""


def test_extension_to_the_horizon_is_granted_and_one_day_past_it_refused(planned, officer_api):
    request = planned.requests.get()
    url = f"/api/v1/reverification-requests/{request.pk}/extend/"
    past = _far(campaigns.DEADLINE_HORIZON_DAYS + 1)
    response = officer_api.post(url, {"deadline": past, "reason": "travel"}, format="json")
    assert response.status_code == 400
    deadline = _far(campaigns.DEADLINE_HORIZON_DAYS)
    response = officer_api.post(url, {"deadline": deadline, "reason": "travel"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["deadline"] == deadline


def test_criteria_nested_too_deeply_to_decode_are_a_400_not_a_500(officer_api):
    deep = "[" * 100_000 + "]" * 100_000
    body = (
        '{"name": "Deep", "deadline": "%s", "criteria": {"regions": %s}}' % (_far(30), deep)  # noqa: UP031
    )
    response = officer_api.post("/api/v1/campaigns/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert not Campaign.objects.exists()
