"""The campaign pages of the console (issue 12): typed widgets instead of JSON
boxes, stored exactly as the API stores them, and a launch that first shows
how many lines it selects and a masked sample, then asks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from operators import services as operator_services
from operators.roles import Role
from reverification import campaigns, launch_preview
from reverification.models import Campaign, CampaignAction, CampaignState
from tests.factories import ensure_undertaking
from tests.reverification.campaign_form import campaign_form_data

pytestmark = pytest.mark.django_db

ADD = "console:reverification_campaign_add"


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def console(officer, web_client_for):
    return web_client_for(officer)


@pytest.fixture
def holders(open_mobile):
    """Seven mobile lines: [(line, the holder's synthetic identity)]."""
    return [(tx.line, identity) for tx, identity in (open_mobile() for _ in range(7))]


def draft(alpha, officer, **criteria) -> Campaign:
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


def form_errors(response) -> dict:
    assert response.status_code == 200, response.status_code
    return response.context["adminform"].form.errors


# --- The widgets -------------------------------------------------------------------------


def test_the_form_stores_the_same_json_as_the_api(alpha, officer, console, api_client_for):
    store = officer.operator.stores.create(code="cy02", name="Chaoyang", region_code="110105")
    response = console.post(
        reverse(ADD),
        campaign_form_data(
            line_kinds=["landline"],
            holder_verification="older",
            older_than_days="400",
            registered_before="2026-01-01",
            stores=[store.code],
            regions=["110105"],
            reminder_days="2, 14 7",
            channels_0="sms",
            channels_1="file",
        ),
    )
    assert response.status_code == 302, form_errors(response)
    body = {
        "name": "API",
        "criteria": {
            "line_kind": "landline",
            "holder_verification": {"older_than_days": 400},
            "registered_before": "2026-01-01",
            "stores": [store.code],
            "regions": ["110105"],
        },
        "deadline": campaign_form_data()["deadline"],
        "reminder_days": [2, 14, 7],
        "channels": ["sms", "file"],
    }
    assert (
        api_client_for(officer).post("/api/v1/campaigns/", body, format="json").status_code == 201
    )
    by_form, by_api = Campaign.objects.get(name="Console"), Campaign.objects.get(name="API")
    assert by_form.criteria == by_api.criteria
    assert by_form.criteria == {**body["criteria"], "holder_verification": {"older_than_days": 400}}
    assert by_form.reminder_days == by_api.reminder_days == [14, 7, 2]
    assert by_form.channels == by_api.channels == ["sms", "file"]


def test_both_kinds_and_any_holder_store_the_apis_empty_criteria(officer, console, api_client_for):
    response = console.post(reverse(ADD), campaign_form_data(line_kinds=["mobile", "landline"]))
    assert response.status_code == 302, form_errors(response)
    body = {"name": "API", "criteria": {}, "deadline": campaign_form_data()["deadline"]}
    assert (
        api_client_for(officer).post("/api/v1/campaigns/", body, format="json").status_code == 201
    )
    by_form, by_api = Campaign.objects.get(name="Console"), Campaign.objects.get(name="API")
    assert by_form.criteria == by_api.criteria == {"line_kind": "any", "holder_verification": "any"}


@pytest.mark.parametrize(
    "days",
    ["", "abc", "0", "7, 7", "366", "-3", "1.5", "１４", ",".join(str(d) for d in range(1, 12))],
)
def test_bad_reminder_days_are_refused_beside_the_field(console, days):
    errors = form_errors(console.post(reverse(ADD), campaign_form_data(reminder_days=days)))
    assert set(errors) == {"reminder_days"}
    assert not Campaign.objects.exists()


def test_an_unknown_channel_is_refused_beside_the_field(console):
    errors = form_errors(console.post(reverse(ADD), campaign_form_data(channels_0="fax")))
    assert set(errors) == {"channels"}
    errors = form_errors(
        console.post(reverse(ADD), campaign_form_data(channels_0="file", channels_1="file"))
    )
    assert set(errors) == {"channels"}
    errors = form_errors(console.post(reverse(ADD), campaign_form_data(channels_0="")))
    assert set(errors) == {"channels"}
    assert not Campaign.objects.exists()


def test_a_later_choice_alone_is_the_first_channel(console):
    response = console.post(reverse(ADD), campaign_form_data(channels_0="", channels_1="email"))
    assert response.status_code == 302, form_errors(response)
    assert Campaign.objects.get().channels == ["email"]


def test_empty_criteria_are_refused_beside_their_fields(console):
    data = campaign_form_data()
    for name in ("line_kinds", "holder_verification"):
        del data[name]
    errors = form_errors(console.post(reverse(ADD), data))
    assert {"line_kinds", "holder_verification"} <= set(errors)
    errors = form_errors(
        console.post(reverse(ADD), campaign_form_data(holder_verification="older"))
    )
    assert set(errors) == {"older_than_days"}
    assert not Campaign.objects.exists()


def test_criteria_the_service_refuses_come_back_beside_their_fields(console, alpha):
    errors = form_errors(
        console.post(
            reverse(ADD),
            campaign_form_data(registered_before="1969-12-31", deadline="2000-01-01"),
        )
    )
    assert set(errors) == {"registered_before", "deadline"}
    assert not Campaign.objects.exists()


def test_another_operators_store_is_not_offered_nor_accepted(console, beta_store):
    page = console.get(reverse(ADD)).content.decode()
    assert beta_store.code not in page
    errors = form_errors(console.post(reverse(ADD), campaign_form_data(stores=[beta_store.code])))
    assert set(errors) == {"stores"}


def test_a_draft_opens_with_its_stored_values_in_the_widgets(alpha, officer, console):
    campaign = draft(alpha, officer, holder_verification={"older_than_days": 90})
    url = reverse("console:reverification_campaign_change", args=[campaign.pk])
    form = console.get(url).context["adminform"].form
    assert form["line_kinds"].value() == ["mobile"]
    assert form["holder_verification"].value() == "older"
    assert form["older_than_days"].value() == 90
    assert form["reminder_days"].value() == "14, 7, 2"
    assert form["channels"].value() == ["file"]
    response = console.post(url, campaign_form_data(name="Edited", reminder_days="30 1"))
    assert response.status_code == 302, form_errors(response)
    campaign.refresh_from_db()
    assert (campaign.name, campaign.reminder_days) == ("Edited", [30, 1])


def test_the_form_offers_channels_and_kinds_by_their_labels(console):
    page = console.get(reverse(ADD)).content.decode()
    assert 'name="channels_0"' in page
    assert "Outbox file (testing and demo)" in page
    assert ">SMS<" in page
    assert 'value="mobile"' in page
    assert "Mobile" in page
    assert "{&quot;" not in page  # no JSON left to type


def test_a_launched_campaign_reads_back_in_words_not_codes(alpha, officer, console, holders):
    campaign = draft(alpha, officer, holder_verification="never")
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    page = console.get(reverse("console:reverification_campaign_change", args=[campaign.pk]))
    body = page.content.decode()
    assert "Holder never verified" in body
    assert "Outbox file (testing and demo)" in body
    assert "Planning" in body


# --- Launching --------------------------------------------------------------------------


def launch_url(campaign: Campaign) -> str:
    return reverse("console:reverification_campaign_launch", args=[campaign.pk])


def test_the_confirmation_counts_what_the_planning_then_plans(alpha, officer, console, holders):
    campaign = draft(alpha, officer)
    page = console.get(launch_url(campaign))
    assert page.status_code == 200
    assert page.context["preview"].count == 7
    assert "7 lines match its criteria now" in page.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT  # a GET asks only
    assert console.post(launch_url(campaign), {"launch": "1"}).status_code == 302
    assert campaigns.campaign_plan(campaign=campaign) == 7
    campaign.refresh_from_db()
    assert campaign.planned_count == page.context["preview"].count


def test_the_count_follows_the_criteria_and_other_live_campaigns(alpha, officer, holders):
    taken = draft(alpha, officer)
    campaigns.campaign_launch(campaign=taken, actor=officer.user)
    campaigns.campaign_plan(campaign=taken)
    assert launch_preview.campaign_launch_preview(campaign=draft(alpha, officer)).count == 0
    landline = draft(alpha, officer, line_kind="landline")
    assert launch_preview.campaign_launch_preview(campaign=landline) == (
        launch_preview.LaunchPreview(count=0, sample=())
    )


def test_the_preview_is_a_count_and_one_sample_query(
    alpha, officer, holders, django_assert_max_num_queries
):
    campaign = draft(alpha, officer)
    with django_assert_max_num_queries(2):
        preview = launch_preview.campaign_launch_preview(campaign=campaign)
    assert preview.count == 7
    assert len(preview.sample) == launch_preview.SAMPLE_SIZE


def test_the_sample_is_masked_and_holds_no_clear_data(alpha, officer, console, holders):
    page = console.get(launch_url(draft(alpha, officer))).content.decode()
    sample = console.get(launch_url(Campaign.objects.get())).context["preview"].sample
    assert len(sample) == 5
    for line, identity in holders:
        assert line.number not in page
        assert line.number[3:] not in page  # nor the national number
        assert identity.name not in page
        assert identity.id_number not in page
    assert all("*" in row.number and "*" in row.holder for row in sample)
    assert {row.number for row in sample} <= {
        f"{line.number[:6]}****{line.number[-4:]}" for line, _ in holders
    }


def test_the_launch_is_a_post_that_records_the_officer(alpha, officer, console, holders):
    campaign = draft(alpha, officer)
    page = console.get(launch_url(campaign)).content.decode()
    assert 'method="post"' in page
    assert "csrfmiddlewaretoken" in page
    assert reverse("console:reverification_campaign_change", args=[campaign.pk]) in page  # Cancel
    response = console.post(launch_url(campaign), {"launch": "1"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.PLANNING
    event = campaign.events.get()
    assert (event.action, event.actor) == (CampaignAction.LAUNCH, officer.user)


def test_a_launched_campaign_cannot_be_launched_again_from_its_page(alpha, officer, console):
    campaign = draft(alpha, officer)
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    assert console.get(launch_url(campaign)).status_code == 302
    assert console.post(launch_url(campaign), {"launch": "1"}).status_code == 302
    assert campaign.events.count() == 1


def test_the_launch_action_leads_to_the_confirmation_and_launches_nothing(alpha, officer, console):
    campaign, other = draft(alpha, officer), draft(alpha, officer)
    changelist = reverse("console:reverification_campaign_changelist")
    response = console.post(changelist, {"action": "launch", "_selected_action": [campaign.pk]})
    assert response.status_code == 302
    assert response["Location"] == launch_url(campaign)
    both = console.post(
        changelist, {"action": "launch", "_selected_action": [campaign.pk, other.pk]}
    )
    assert both.status_code == 302
    assert set(Campaign.objects.values_list("state", flat=True)) == {CampaignState.DRAFT}


def test_another_operators_campaign_is_404_and_stays_a_draft(
    alpha, beta, officer, make_staff, web_client_for
):
    campaign = draft(alpha, officer)
    outsider = web_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert outsider.get(launch_url(campaign)).status_code == 404
    assert outsider.post(launch_url(campaign), {"launch": "1"}).status_code == 404
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT


@pytest.mark.parametrize("role", [Role.CLERK, Role.OPERATOR_ADMIN])
def test_staff_without_the_campaign_permission_get_403(
    alpha, officer, make_staff, web_client_for, role
):
    campaign = draft(alpha, officer)
    client = web_client_for(make_staff(alpha, role))
    assert client.get(launch_url(campaign)).status_code == 403
    assert client.post(launch_url(campaign), {"launch": "1"}).status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.DRAFT


def test_a_platform_admin_without_an_operator_is_told_not_500(
    django_user_model, web_client_for, alpha
):
    root = django_user_model.objects.create_superuser("platform-root", password="x-synthetic-9")
    operator_services.undertaking_accept(user=root, undertaking=ensure_undertaking())
    response = web_client_for(root).post(reverse(ADD), campaign_form_data())
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert not Campaign.objects.exists()


def test_a_refused_action_names_the_state_and_action_in_words(alpha, officer):
    campaign = draft(alpha, officer)
    assert "Draft" in str(campaigns.CampaignStateConflict(campaign, "paused").message)
    with translation.override("zh-hans"):
        text = str(campaigns.CampaignStateConflict(campaign, "paused").message)
    assert "草稿" in text
    assert "暂停" in text
    assert "draft" not in text
