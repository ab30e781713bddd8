"""The campaign and correction pages of the console in a real browser: a
campaign defined with the widgets and launched through its confirmation,
and every page fitting a 1280 px wide screen, in both languages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from identity import services as identity_services
from operators.models import Language, Operator
from operators.roles import Role
from reverification import campaigns
from reverification.models import Campaign, CampaignState

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WIDTH = 1280


@pytest.fixture
def officer_page(page, live_server, alpha, make_staff, web_client_for):
    """The browser signed in as alpha's compliance officer, 1280 px wide."""
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    client = web_client_for(officer)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.set_viewport_size({"width": WIDTH, "height": 800})
    return page, officer


def _fits(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_define_and_launch_with_the_widgets_and_every_page_fits_1280px(
    officer_page, alpha, open_mobile, make_identity, register, alpha_clerk, language
):
    page, officer = officer_page
    Operator.objects.filter(pk=alpha.pk).update(default_language=language)
    for _ in range(3):
        open_mobile()
    running = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="A campaign with a rather long name to see the columns wrap",
            criteria={"line_kind": "any"},
            deadline=timezone.localdate() + dt.timedelta(days=60),
            reminder_days=[30, 14, 7, 2],
            channels=["sms", "email", "file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=running, actor=officer.user)
    campaigns.campaign_plan(campaign=running)
    correction = identity_services.correction_request_create(
        person=register(make_identity()),
        values={"name": "Corrected Name", "address": "北京市海淀区新地址2号"},
        actor=alpha_clerk.user,
    )

    page.goto("/console/reverification/campaign/add/")
    assert _fits(page) <= WIDTH
    page.fill("#id_name", "Browser campaign")
    page.fill("#id_deadline", (timezone.localdate() + dt.timedelta(days=30)).isoformat())
    page.uncheck("input[name=line_kinds][value=landline]")
    page.check("input[name=holder_verification][value=any]")
    page.fill("#id_reminder_days", "7, 14")
    page.select_option("#id_channels_0", "file")
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    campaign = Campaign.objects.get(name="Browser campaign")
    assert campaign.criteria == {"line_kind": "mobile", "holder_verification": "any"}
    assert campaign.reminder_days == [14, 7]
    assert _fits(page) <= WIDTH

    page.goto(f"/console/reverification/campaign/{campaign.pk}/change/")
    page.click("a.launchlink")
    page.wait_for_selector("#launch-confirm")
    assert page.locator("#launch-sample tbody tr").count() == 0  # all three are taken
    assert _fits(page) <= WIDTH
    page.click("input[name=launch]")
    page.wait_for_selector(".messagelist")
    assert Campaign.objects.get(pk=campaign.pk).state == CampaignState.PLANNING

    for url in (
        f"/console/reverification/campaign/{running.pk}/change/",
        "/console/identity/correctionrequest/",
        f"/console/identity/correctionrequest/{correction.pk}/change/",
    ):
        page.goto(url)
        page.wait_for_selector("#content")
        assert _fits(page) <= WIDTH, url
    page.fill("#id_note", "Proof seen")
    page.click("button[name=decision][value=approve]")
    page.wait_for_selector(".messagelist")
    correction.refresh_from_db()
    assert correction.status == "approved"
