"""A subscriber answers a notice from the link the file channel wrote."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from operators.roles import Role
from reverification import campaigns, dispatch
from reverification.models import RequestState, ReverificationRequest

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_subscriber_answers_from_the_outbox_link(
    alpha, make_staff, open_mobile, consent, settings, tmp_path, live_server, page
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    settings.TELEREG_PUBLIC_URL = live_server.url
    _, identity = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Browser",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    for pk in dispatch.batches_create(campaign=campaign):
        dispatch.batch_send(batch_id=pk)
    (message,) = [json.loads(line) for line in (tmp_path / "file.jsonl").read_text().splitlines()]

    # The holder chose no language: the link opens the page in Chinese; this
    # test reads the English page.
    assert message["link"].endswith("?lang=zh-hans")
    page.goto(message["link"].replace("?lang=zh-hans", "?lang=en"))
    page.select_option("#id_id_type", identity.id_type)
    page.fill("#id_id_number", identity.id_number)
    page.fill("#id_name", identity.name)
    page.fill("#id_date_of_birth", identity.date_of_birth.isoformat())
    page.select_option("#id_sex", identity.sex)
    if identity.id_expiry:
        page.fill("#id_id_expiry", identity.id_expiry.isoformat())
    if identity.nationality:
        page.fill("#id_nationality", identity.nationality)
    page.check("#id_consent")
    page.click("#verify")
    page.wait_for_selector("#result")
    assert "Verified" in page.text_content("#result")
    assert ReverificationRequest.objects.get(pk=message["request"]).state == RequestState.VERIFIED


def test_the_language_switch_turns_the_chinese_page_english_under_the_strict_csp(
    alpha, make_staff, open_mobile, settings, tmp_path, live_server, page
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    settings.TELEREG_PUBLIC_URL = live_server.url
    open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Switch",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    for pk in dispatch.batches_create(campaign=campaign):
        dispatch.batch_send(batch_id=pk)
    (message,) = [json.loads(line) for line in (tmp_path / "file.jsonl").read_text().splitlines()]
    page.goto(message["link"])
    assert page.text_content("h1") == "实名信息核验"
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.click("#switch-en")
    page.wait_for_selector("#switch-zh-hans")
    assert page.text_content("h1") == "Identity re-verification"
    assert page.get_attribute("html", "lang") == "en"
