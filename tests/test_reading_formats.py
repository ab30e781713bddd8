"""Dates, times and telephone numbers in the reader's locale and the
operator's time zone (issue 12): pages in zh-hans show 2026年12月1日 and
138 0013 8000, in English Dec. 1, 2026; a time stored in UTC is shown in
the operator's zone; the zone is chosen in the console and nowhere leaks
into the next request."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from notices.messages import date_for_reading
from operators.models import Language, Operator, StaffMember
from operators.roles import Role
from operators.timezones import zone_of
from registration.models import Transaction
from reverification import campaigns, dispatch, tokens
from reverification.models import ReverificationRequest
from tests.test_translations import compiled_catalogue, untranslated, visible  # noqa: F401

pytestmark = pytest.mark.django_db

# 23:30 UTC on 30 November is 07:30 on 1 December in Asia/Shanghai (UTC+8).
LATE_EVENING_UTC = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)


def _speaks(operator: Operator, language: str, time_zone: str = "Asia/Shanghai") -> None:
    Operator.objects.filter(pk=operator.pk).update(default_language=language, time_zone=time_zone)


@pytest.fixture
def late_receipt(alpha, alpha_clerk, open_mobile, web_client_for):
    """A completed mobile opening stamped 23:30 UTC, and the clerk's client."""
    tx, _identity = open_mobile()
    Transaction.objects.filter(pk=tx.pk).update(created_at=LATE_EVENING_UTC)
    tx.refresh_from_db()
    return tx, web_client_for(alpha_clerk)


def _receipt(client, tx) -> str:
    response = client.get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    assert response.status_code == 200
    return response.content.decode()


def _grouped(number: str) -> str:
    """+8613800138000 → 138 0013 8000 (the tests' numbers are Chinese mobiles)."""
    national = number.removeprefix("+86")
    return f"{national[:3]} {national[3:7]} {national[7:]}"


# --- Store pages --------------------------------------------------------------------------------


def test_the_chinese_receipt_shows_the_date_in_chinese_and_the_number_grouped(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.ZH_HANS)
    page = _receipt(client, tx)
    assert "2026年12月1日 07:30" in page
    assert _grouped(tx.number) in page
    assert tx.number not in page
    assert "2026-12-01" not in page
    assert visible(page, "zh-hans").html_lang == "zh-hans"


def test_the_english_receipt_shows_the_date_in_english(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.EN)
    page = _receipt(client, tx)
    assert "Dec. 1, 2026, 7:30 a.m." in page
    assert _grouped(tx.number) in page
    assert visible(page, "en").html_lang == "en"


def test_a_time_stored_in_utc_is_shown_in_the_operators_time_zone(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.ZH_HANS, time_zone="UTC")
    assert "2026年11月30日 23:30" in _receipt(client, tx)
    _speaks(alpha, Language.ZH_HANS, time_zone="Asia/Shanghai")
    assert "2026年12月1日 07:30" in _receipt(client, tx)


def test_the_transactions_list_shows_local_dates_and_grouped_numbers(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.ZH_HANS)
    page = client.get(reverse("registration:transactions")).content.decode()
    assert "2026年12月1日 07:30" in page
    assert _grouped(tx.number) in page


def test_the_line_look_up_shows_the_registration_date_in_chinese(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.ZH_HANS)
    tx.line.__class__.objects.filter(pk=tx.line.pk).update(registered_at=LATE_EVENING_UTC)
    page = client.post(reverse("registration:lines"), {"number": tx.number}).content.decode()
    assert "2026年12月1日" in page
    assert _grouped(tx.number) in page


def test_the_zone_of_one_request_does_not_leak_into_the_next(alpha, late_receipt):
    tx, client = late_receipt
    _speaks(alpha, Language.EN, time_zone="America/New_York")
    assert "Nov. 30, 2026, 6:30 p.m." in _receipt(client, tx)
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


# --- Subscriber pages ---------------------------------------------------------------------------


@pytest.fixture
def link(alpha, make_staff, open_mobile):
    """A running campaign's request whose deadline is 1 December 2026."""
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    tx, _identity = open_mobile()
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Check",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    request = campaign.requests.get()
    type(request).objects.filter(pk=request.pk).update(deadline=dt.date(2026, 12, 1))
    return tx, f"/r/{tokens.request_token(request.pk)}"


def test_the_subscriber_page_shows_the_deadline_and_masked_number_for_reading(client, link):
    tx, path = link
    page = client.get(f"{path}?lang=zh-hans").content.decode()
    national = tx.number.removeprefix("+86")
    assert "2026年12月1日" in page
    assert f"{national[:3]} **** {national[-4:]}" in page
    english = client.get(f"{path}?lang=en").content.decode()
    assert "Dec. 1, 2026" in english


# --- The operator's time zone -------------------------------------------------------------------


def test_a_new_operator_is_in_shanghai_time(alpha):
    assert alpha.time_zone == "Asia/Shanghai"
    assert zone_of(alpha) == zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "UTC+8", "", "a" * 65])
def test_a_time_zone_that_is_not_an_iana_name_is_refused(alpha, name):
    alpha.time_zone = name
    with pytest.raises(ValidationError) as refused:
        alpha.full_clean()
    assert "time_zone" in refused.value.message_dict


def test_an_unknown_stored_zone_falls_back_to_the_sites_zone_and_never_fails(alpha):
    Operator.objects.filter(pk=alpha.pk).update(time_zone="Nowhere/Atlantis")
    alpha.refresh_from_db()
    assert zone_of(alpha) == zoneinfo.ZoneInfo(settings.TIME_ZONE)


@pytest.fixture
def alpha_admin(alpha, make_staff):
    return make_staff(alpha, Role.OPERATOR_ADMIN)


def _operator_form(operator: Operator, **changes: str) -> dict[str, str]:
    """The console's operator form as an operator admin submits it."""
    data = {
        "name": operator.name,
        "country": operator.country,
        "mobile_line_cap": str(operator.mobile_line_cap),
        "landline_line_cap": str(operator.landline_line_cap),
        "min_holder_age": str(operator.min_holder_age),
        "reverification_response_days": str(operator.reverification_response_days),
        "reverification_reminder_days": "[14, 7, 2]",
        "reverification_suspend_after_days": str(operator.reverification_suspend_after_days),
        "default_language": operator.default_language,
        "time_zone": operator.time_zone,
        "retention_days": str(operator.retention_days),
        "review_days": str(operator.review_days),
        "quarantine_days": ""
        if operator.quarantine_days is None
        else str(operator.quarantine_days),
        "document_notice_days": str(operator.document_notice_days),
        # Issue 14: the portrait check's settings.
        "portrait_policy": operator.portrait_policy,
        "portrait_pass": str(operator.portrait_pass),
        "portrait_refuse": str(operator.portrait_refuse),
        "portrait_review_hours": str(operator.portrait_review_hours),
        "portrait_retention_days": ""
        if operator.portrait_retention_days is None
        else str(operator.portrait_retention_days),
        "disclosure_notice_delay_days": str(operator.disclosure_notice_delay_days),
        "organisation_line_cap": str(operator.organisation_line_cap),
    }
    data.update(changes)
    return data


def _change_url(operator: Operator) -> str:
    return reverse("console:operators_operator_change", args=[operator.pk])


def test_the_operator_admin_chooses_the_time_zone_in_the_console(
    alpha, alpha_admin, web_client_for
):
    client = web_client_for(alpha_admin)
    page = client.get(_change_url(alpha)).content.decode()
    assert '<option value="Asia/Urumqi">' in page
    response = client.post(_change_url(alpha), _operator_form(alpha, time_zone="Asia/Urumqi"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Operator.objects.get(pk=alpha.pk).time_zone == "Asia/Urumqi"


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Asia/Shanghai;DROP"])
def test_a_bad_time_zone_is_refused_beside_the_field_and_nothing_changes(
    alpha, alpha_admin, web_client_for, name
):
    client = web_client_for(alpha_admin)
    response = client.post(
        _change_url(alpha), _operator_form(alpha, time_zone=name, name="Renamed")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["time_zone"]
    stored = Operator.objects.get(pk=alpha.pk)
    assert (stored.time_zone, stored.name) == ("Asia/Shanghai", alpha.name)


def test_an_operator_admin_cannot_change_another_operators_time_zone(
    alpha, beta, alpha_admin, web_client_for
):
    client = web_client_for(alpha_admin)
    response = client.post(_change_url(beta), _operator_form(beta, time_zone="UTC"))
    assert response.status_code == 404
    assert Operator.objects.get(pk=beta.pk).time_zone == "Asia/Shanghai"


def test_a_clerk_cannot_change_the_time_zone(alpha, alpha_clerk, web_client_for):
    client = web_client_for(alpha_clerk)
    response = client.post(_change_url(alpha), _operator_form(alpha, time_zone="UTC"))
    assert response.status_code in (302, 403)
    assert Operator.objects.get(pk=alpha.pk).time_zone == "Asia/Shanghai"


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_the_operator_form_speaks_the_staff_language(
    alpha,
    alpha_admin,
    web_client_for,
    compiled_catalogue,  # noqa: F811
    language,
):
    StaffMember.objects.filter(pk=alpha_admin.pk).update(language=language)
    page = web_client_for(alpha_admin).get(_change_url(alpha)).content.decode()
    assert visible(page, language).html_lang == language
    if language == Language.ZH_HANS:
        assert "时区" in page
        assert untranslated(page, compiled_catalogue) == []
    else:
        assert "Time zone" in page


# --- Notices and the console ----------------------------------------------------------------------


@pytest.fixture
def outbox_dir(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def test_a_notices_deadline_is_written_as_its_reader_writes_dates():
    day = dt.date(2026, 12, 1)
    assert date_for_reading(day, "zh-hans") == "2026年12月1日"
    assert date_for_reading(day, "en") == "Dec. 1, 2026"
    assert date_for_reading(day, "xx") == "2026年12月1日"  # the texts' default language


def test_the_notice_sent_in_chinese_carries_a_chinese_deadline(link, outbox_dir):
    _tx, _path = link
    request = ReverificationRequest.objects.get()
    (batch,) = dispatch.batches_create(campaign=request.campaign, size=100)
    dispatch.batch_send(batch_id=batch)
    texts = [json.loads(line)["text"] for line in outbox_dir.read_text().splitlines()]
    assert len(texts) == 1
    assert "请于2026年12月1日前核验号码" in texts[0]


def test_the_console_lists_lines_and_numbers_grouped_for_reading(
    alpha, alpha_compliance, open_mobile, web_client_for, make_staff
):
    tx, _identity = open_mobile()
    client = web_client_for(alpha_compliance)
    page = client.get(reverse("console:registration_line_changelist")).content.decode()
    assert _grouped(tx.number) in page
    admin = web_client_for(make_staff(alpha, Role.OPERATOR_ADMIN))
    inventory = admin.get(reverse("console:registration_phonenumber_changelist")).content.decode()
    assert _grouped(tx.number) in inventory
