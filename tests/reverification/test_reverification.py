"""The subscriber's answer, the token page, and the expiry cycle with a controlled clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from identity.errors import IdentityInvalid
from identity.models import AccessLogEntry, AccessPurpose
from operators.models import Language, Operator, Store
from operators.roles import Role
from registration.models import Line, LineStatus
from reverification import campaigns, tokens
from reverification.models import RequestState
from tests.test_translations import (  # noqa: F401 - the fixture compiles the catalogue
    catalogue_entries,
    compiled_catalogue,
    untranslated,
    visible,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(alpha, make_staff, open_mobile):
    """A running campaign over one line; returns (request, holder identity)."""
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    tx, identity = open_mobile()
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
    return campaign.requests.get(), identity


def test_correct_answer_verifies_the_request(running, consent):
    request, identity = running
    done = campaigns.request_answer(request=request, identity=identity, consent=consent)
    assert done.state == RequestState.VERIFIED
    assert done.verified_at is not None


def test_the_answers_authority_check_is_in_the_access_log_without_personal_data(running, consent):
    request, identity = running
    checks = AccessLogEntry.objects.filter(purpose=AccessPurpose.AUTHORITY_CHECK)
    before = checks.count()
    campaigns.request_answer(request=request, identity=identity, consent=consent)
    entry = checks.order_by("-pk").first()
    assert checks.count() == before + 1
    assert entry.detail["party"] == "holder"
    assert entry.actor_id is None  # the subscriber's own answer on the page
    assert identity.id_number not in str(entry.detail)
    assert identity.name not in str(entry.detail)


def test_someone_elses_identity_is_refused_and_counted(running, consent, citizen):
    request, _ = running
    with pytest.raises(campaigns.AnswerRefused):
        campaigns.request_answer(request=request, identity=citizen(), consent=consent)
    request.refresh_from_db()
    assert request.failed_attempts == 1
    assert request.state == RequestState.PENDING


def test_wrong_answers_are_throttled_even_for_the_right_holder_afterwards(
    running, consent, citizen
):
    request, identity = running
    for _ in range(campaigns.MAX_FAILED_ATTEMPTS):
        with pytest.raises(campaigns.AnswerRefused):
            campaigns.request_answer(request=request, identity=citizen(), consent=consent)
    with pytest.raises(campaigns.TooManyAttempts):
        campaigns.request_answer(request=request, identity=identity, consent=consent)
    later = timezone.now() + campaigns.ATTEMPT_WINDOW + dt.timedelta(minutes=1)
    done = campaigns.request_answer(request=request, identity=identity, consent=consent, now=later)
    assert done.state == RequestState.VERIFIED


def test_an_answer_with_an_invalid_document_is_refused_with_field_reasons(running, consent):
    request, identity = running
    bad = dataclasses.replace(identity, sex="M" if identity.sex == "F" else "F")
    with pytest.raises(IdentityInvalid) as info:
        campaigns.request_answer(request=request, identity=bad, consent=consent)
    assert "sex" in info.value.errors


def test_a_verified_request_is_closed_to_further_answers(running, consent):
    request, identity = running
    campaigns.request_answer(request=request, identity=identity, consent=consent)
    with pytest.raises(campaigns.RequestClosed):
        campaigns.request_answer(request=request, identity=identity, consent=consent)


def test_deadline_bars_the_line_then_the_grace_period_suspends_it(running):
    request, _ = running
    after_deadline = timezone.now() + dt.timedelta(days=12)
    result = campaigns.reverification_cycle(now=after_deadline)
    assert (result.expired, result.barred, result.suspended) == (1, 1, 0)
    line = Line.objects.get(pk=request.line_id)
    assert line.status == LineStatus.BARRED_OUTGOING
    assert line.status_reason == "reverification_expired"
    assert campaigns.reverification_cycle(now=after_deadline) == campaigns.CycleResult(0, 0, 0)
    campaigns.reverification_cycle(now=after_deadline + dt.timedelta(days=16))
    line.refresh_from_db()
    assert line.status == LineStatus.SUSPENDED


def test_a_suspended_line_comes_back_the_moment_its_holder_verifies(running, consent):
    request, identity = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=30))
    assert Line.objects.get(pk=request.line_id).status == LineStatus.SUSPENDED
    campaigns.request_answer(request=request, identity=identity, consent=consent)
    line = Line.objects.get(pk=request.line_id)
    assert line.status == LineStatus.ACTIVE
    assert line.status_reason == "reverified"


def test_cycle_command_takes_a_controlled_clock(running):
    request, _ = running
    when = (timezone.localdate() + dt.timedelta(days=11)).isoformat() + "T09:00"
    call_command("run_reverification_cycle", now=when)
    assert Line.objects.get(pk=request.line_id).status == LineStatus.BARRED_OUTGOING


# --- The page behind the link ----------------------------------------------------------------


def _form(identity, consent) -> dict:
    from tests.helpers import identity_form_fields

    return {**identity_form_fields(identity), "consent": "on", "notice": consent.notice_hash}


def test_the_link_page_shows_the_notice_and_changes_nothing_on_get(running, client):
    request, identity = running
    response = client.get(f"/r/{tokens.request_token(request.pk)}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Privacy notice" in body or "个人信息保护告知" in body
    assert request.line.number not in body  # the number is masked
    assert identity.name not in body
    request.refresh_from_db()
    assert request.state == RequestState.PENDING


def test_answering_on_the_page_verifies(running, consent, client):
    request, identity = running
    response = client.post(f"/r/{tokens.request_token(request.pk)}", _form(identity, consent))
    assert response.status_code == 200
    assert 'id="result"' in response.content.decode()
    request.refresh_from_db()
    assert request.state == RequestState.VERIFIED


def test_wrong_answer_on_the_page_says_so_without_detail(running, consent, citizen, client):
    request, _ = running
    response = client.post(f"/r/{tokens.request_token(request.pk)}", _form(citizen(), consent))
    assert response.status_code == 400
    assert "do not match our records" in response.content.decode()


def test_a_forged_token_is_404(running, client):
    request, _ = running
    assert client.get(f"/r/{request.pk}.{'a' * 32}").status_code == 404


def test_clerk_reverifies_in_store_and_the_barred_line_is_active_again(
    running, consent, alpha_clerk, api_client_for
):
    from tests.registration.conftest import api_block

    request, identity = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    number = request.line.number
    assert Line.objects.get(pk=request.line_id).status == LineStatus.BARRED_OUTGOING
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/lines/{number}/reverify/",
        {"holder": api_block(identity), "consent": {"notice": consent.notice_hash, "given": True}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"request": request.pk, "state": "verified", "line_status": "active"}


def test_in_store_reverification_of_someone_else_is_refused(
    running, consent, citizen, alpha_clerk, api_client_for
):
    from tests.registration.conftest import api_block

    request, _ = running
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/lines/{request.line.number}/reverify/",
        {"holder": api_block(citizen()), "consent": {"notice": consent.notice_hash, "given": True}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "answer_refused"


def test_an_extension_moves_the_deadline_and_lifts_the_bar(
    running, alpha, make_staff, api_client_for
):
    request, _ = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    assert Line.objects.get(pk=request.line_id).status == LineStatus.BARRED_OUTGOING
    officer = api_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    new_deadline = (timezone.localdate() + dt.timedelta(days=40)).isoformat()
    response = officer.post(
        f"/api/v1/reverification-requests/{request.pk}/extend/",
        {"deadline": new_deadline, "reason": "travelling abroad"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"id": request.pk, "state": "pending", "deadline": new_deadline}
    assert Line.objects.get(pk=request.line_id).status == LineStatus.ACTIVE
    assert campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=20)).expired == 0


def test_an_extension_must_move_the_deadline_later_and_say_why(running):
    request, _ = running
    with pytest.raises(campaigns.CampaignInvalid) as info:
        campaigns.request_extend(request=request, deadline=request.deadline, reason="", actor=None)
    assert set(info.value.fields) == {"deadline", "reason"}


def test_a_barred_line_shows_why_and_since_when(
    running, alpha_clerk, web_client_for, api_client_for
):
    request, _ = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    number = request.line.number
    body = web_client_for(alpha_clerk).post("/store/lines/", {"number": number}).content.decode()
    assert "did not re-verify their identity in time" in body
    line = api_client_for(alpha_clerk).get(f"/api/v1/lines/{number}/").json()
    assert line["status"] == "barred_outgoing"
    assert line["status_reason"] == "reverification_expired"
    assert line["status_since"]


def test_the_link_of_a_closed_campaign_answers_nothing_more_is_needed(running, consent, client):
    request, identity = running
    campaigns.campaign_close(campaign=request.campaign, actor=None)
    token = tokens.request_token(request.pk)
    page = client.get(f"/r/{token}").content.decode()
    assert "This request is closed" in page
    client.post(f"/r/{token}", _form(identity, consent))
    request.refresh_from_db()
    assert request.state == RequestState.CANCELLED


def test_clerk_reverifies_on_the_store_page(running, consent, alpha_clerk, web_client_for):
    request, identity = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    client = web_client_for(alpha_clerk)
    lookup = client.post("/store/lines/", {"number": request.line.number}).content.decode()
    assert 'id="reverify-link"' in lookup
    url = f"/store/lines/{request.line.uid}/reverify/"
    wrong = client.post(url, {**_form(identity, consent), "name": "Somebody Else"})
    assert wrong.status_code == 400
    done = client.post(url, _form(identity, consent))
    assert done.status_code == 200
    assert 'id="result"' in done.content.decode()
    assert Line.objects.get(pk=request.line_id).status == LineStatus.ACTIVE


def test_the_link_stops_working_after_the_grace_period(running, consent, settings):
    request, identity = running
    settings.TELEREG_LINK_GRACE_DAYS = 60
    late = timezone.now() + dt.timedelta(days=10 + 61)
    with pytest.raises(campaigns.RequestClosed):
        campaigns.request_answer(request=request, identity=identity, consent=consent, now=late)
    within = timezone.now() + dt.timedelta(days=10 + 59)
    done = campaigns.request_answer(request=request, identity=identity, consent=consent, now=within)
    assert done.state == RequestState.VERIFIED


def test_wrong_answers_are_also_limited_per_address(running, consent, citizen, client, settings):
    settings.TELEREG_ANSWER_ADDRESS_LIMIT = 3
    request, identity = running
    url = f"/r/{tokens.request_token(request.pk)}"
    statuses = [client.post(url, _form(citizen(), consent)).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert client.post(url, _form(identity, consent)).status_code == 429
    request.refresh_from_db()
    assert request.state == RequestState.PENDING


def test_the_store_reverify_page_speaks_the_staff_language(
    running,
    consent,
    alpha,
    alpha_clerk,
    web_client_for,
    compiled_catalogue,  # noqa: F811
):
    request, identity = running
    campaigns.reverification_cycle(now=timezone.now() + dt.timedelta(days=12))
    url = f"/store/lines/{request.line.uid}/reverify/"
    apps = catalogue_entries(
        Path(settings.BASE_DIR) / "reverification/locale/zh_Hans/LC_MESSAGES/django.po"
    )
    # The factory's store name ("Store …") is data that reads like a msgid.
    Store.objects.filter(pk=alpha_clerk.store_id).update(name="朝阳营业厅")
    client = web_client_for(alpha_clerk)
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.EN)
    english = client.get(url).content.decode()
    assert visible(english, "en").html_lang == "en"
    assert "Re-verify the holder of" in english
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.ZH_HANS)
    for page in (client.get(url), client.post(url, _form(identity, consent))):
        html = page.content.decode()
        assert visible(html, "zh-hans").html_lang == "zh-hans"
        assert untranslated(html, compiled_catalogue) + untranslated(html, apps) == []
    assert "核验通过" in html
    assert identity.id_number not in html
