"""Issue 13: visitors' lines end with their stay, and documents that expire
are asked again (on PostgreSQL, with a controlled clock)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from identity import services as identity_services
from identity.errors import IdentityInvalid
from identity.models import Person
from identity.services import CitizenRow
from identity.synthetic import synthetic_identity
from operators.roles import Role
from registration.models import Line, LineStatus, line_status_reason_label
from reverification import campaigns, dispatch, stays
from reverification.models import (
    Campaign,
    RequestState,
    ReverificationRequest,
    StandingPurpose,
    StayReminder,
)
from tests.conftest import privileged_login
from tests.registration.conftest import api_block
from tests.registration.test_pages import (  # noqa: F401 - fixtures of the wizard's pages
    block,
    completed,
    counter,
    notices,
    stock,
    take,
    url,
)
from tests.test_translations import (  # noqa: F401 - fixtures and helpers of the catalogue checks
    _set_language,
    compiled_catalogue,
    shop,
    untranslated,
    visible,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path / "outbox")
    return tmp_path / "outbox" / "file.jsonl"


def outbox_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def known(identity):
    """Load a synthetic identity into the simulated authority's registry."""
    identity_services.authority_registry_load(
        [
            CitizenRow(
                id_type=identity.id_type,
                id_number=identity.id_number,
                name=identity.name,
                date_of_birth=identity.date_of_birth,
                sex=identity.sex,
                revoked=False,
            )
        ]
    )
    return identity


@pytest.fixture
def visitor(rng, today):
    """A visitor on a foreign passport valid for two more years."""
    identity = synthetic_identity(rng=rng, id_type="foreign_passport", today=today)
    return known(dataclasses.replace(identity, id_expiry=today + dt.timedelta(days=730)))


def run_cycle(day: dt.date) -> None:
    call_command("run_reverification_cycle", now=f"{day.isoformat()}T09:00")


# --- Visitors ----------------------------------------------------------------------------


def test_a_visitors_opening_keeps_the_stay_and_the_line_shows_it(
    submit, inventory, visitor, today, alpha_clerk, api_client_for
):
    stay = today + dt.timedelta(days=20)
    tx = submit("mobile_open", applicant=visitor, stay_until=stay)
    assert tx.line.stay_until == stay
    response = api_client_for(alpha_clerk).get(f"/api/v1/lines/{tx.line.number}/")
    assert response.status_code == 200
    assert response.json()["stay_until"] == stay.isoformat()


def test_stay_until_is_refused_for_a_resident_id_with_400_on_the_field(
    inventory, citizen, today, alpha_clerk, consent, api_client_for
):
    response = api_client_for(alpha_clerk).post(
        "/api/v1/transactions/",
        {
            "kind": "mobile_open",
            "applicant": api_block(citizen()),
            "consent": {"notice": consent.notice_hash, "given": True},
            "stay_until": (today + dt.timedelta(days=20)).isoformat(),
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="visitor-resident-1",
    )
    assert response.status_code == 400, response.json()
    assert "stay_until" in response.json()["error"]["fields"]
    assert not Line.objects.exists()


@pytest.mark.parametrize(
    ("days", "passport_days"),
    [(-1, 730), (0, 730), (40, 30)],
    ids=["past", "today", "beyond-passport"],
)
def test_a_stay_in_the_past_or_beyond_the_passport_is_refused(
    submit, inventory, visitor, today, days, passport_days
):
    applicant = dataclasses.replace(visitor, id_expiry=today + dt.timedelta(days=passport_days))
    with pytest.raises(IdentityInvalid) as refused:
        submit("mobile_open", applicant=applicant, stay_until=today + dt.timedelta(days=days))
    assert set(refused.value.errors) == {"stay_until"}
    assert not Line.objects.exists()


def test_stay_until_is_refused_for_a_kind_that_opens_no_visitor_line(
    submit, inventory, visitor, today
):
    with pytest.raises(IdentityInvalid) as refused:
        submit(
            "landline_install",
            applicant=visitor,
            installation_address="北京市朝阳区样例路8号3单元",
            stay_until=today + dt.timedelta(days=5),
        )
    assert "stay_until" in refused.value.errors


def test_a_visitor_line_is_reminded_7_and_1_days_before_and_barred_on_its_day(
    submit, inventory, visitor, today, outbox
):
    stay = today + dt.timedelta(days=10)
    line = submit("mobile_open", applicant=visitor, stay_until=stay).line
    run_cycle(stay - dt.timedelta(days=8))
    assert outbox_lines(outbox) == []
    run_cycle(stay - dt.timedelta(days=7))
    run_cycle(stay - dt.timedelta(days=7))  # a second run the same day sends nothing again
    first = [m for m in outbox_lines(outbox) if m["kind"] == "stay_ending"]
    assert len(first) == 1
    assert first[0]["to"] == line.number
    run_cycle(stay - dt.timedelta(days=1))
    assert len([m for m in outbox_lines(outbox) if m["kind"] == "stay_ending"]) == 2
    assert set(StayReminder.objects.values_list("stage", flat=True)) == {7, 1}
    line.refresh_from_db()
    assert line.status == LineStatus.ACTIVE  # not before its day
    run_cycle(stay)
    line.refresh_from_db()
    assert (line.status, line.status_reason) == (LineStatus.BARRED_OUTGOING, stays.STAY_ENDED)


def test_an_in_store_reverification_with_a_later_stay_restores_the_line(
    submit, inventory, visitor, today, alpha_clerk, consent, api_client_for
):
    stay = today + dt.timedelta(days=3)
    line = submit("mobile_open", applicant=visitor, stay_until=stay).line
    stays.stays_cycle(now=timezone.now() + dt.timedelta(days=3), today=stay)
    line.refresh_from_db()
    assert line.status == LineStatus.BARRED_OUTGOING
    later = today + dt.timedelta(days=90)
    response = api_client_for(alpha_clerk).post(
        f"/api/v1/lines/{line.number}/reverify/",
        {
            "holder": api_block(visitor),
            "consent": {"notice": consent.notice_hash, "given": True},
            "stay_until": later.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"line_status": "active", "stay_until": later.isoformat()}
    line.refresh_from_db()
    assert (line.status, line.stay_until) == (LineStatus.ACTIVE, later)


def test_an_earlier_stay_or_someone_else_does_not_restore_the_line(
    submit, inventory, visitor, today, alpha_clerk, consent, api_client_for, rng
):
    stay = today + dt.timedelta(days=3)
    line = submit("mobile_open", applicant=visitor, stay_until=stay).line
    Line.objects.filter(pk=line.pk).update(
        status=LineStatus.BARRED_OUTGOING, status_reason=stays.STAY_ENDED
    )
    client = api_client_for(alpha_clerk)
    body = {
        "holder": api_block(visitor),
        "consent": {"notice": consent.notice_hash, "given": True},
        "stay_until": stay.isoformat(),
    }
    response = client.post(f"/api/v1/lines/{line.number}/reverify/", body, format="json")
    assert response.status_code == 400
    assert "stay_until" in response.json()["error"]["fields"]
    stranger = known(synthetic_identity(rng=rng, id_type="foreign_passport", today=today))
    body.update(holder=api_block(stranger), stay_until=(today + dt.timedelta(days=60)).isoformat())
    response = client.post(f"/api/v1/lines/{line.number}/reverify/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "answer_refused"
    line.refresh_from_db()
    assert (line.status, line.stay_until) == (LineStatus.BARRED_OUTGOING, stay)


def test_another_operators_visitor_line_answers_404(
    submit, inventory, visitor, today, beta, make_staff, consent, api_client_for
):
    line = submit("mobile_open", applicant=visitor, stay_until=today + dt.timedelta(days=5)).line
    response = api_client_for(make_staff(beta, Role.CLERK)).post(
        f"/api/v1/lines/{line.number}/reverify/",
        {
            "holder": api_block(visitor),
            "consent": {"notice": consent.notice_hash, "given": True},
            "stay_until": (today + dt.timedelta(days=60)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 404


# --- Documents that expire ---------------------------------------------------------------


def test_an_expiring_document_opens_one_request_and_the_renewed_document_answers_it(
    open_mobile, citizen, today, consent, alpha
):
    expiring = citizen(id_expiry=today + dt.timedelta(days=10))
    tx, identity = open_mobile(identity=expiring)
    open_mobile()  # a holder whose document does not expire soon
    run_cycle(today)
    run_cycle(today)  # twice: nothing new
    campaign = Campaign.objects.get(operator=alpha, standing=StandingPurpose.DOCUMENT_EXPIRING)
    request = campaign.requests.get()
    assert request.line_id == tx.line_id
    assert request.state == RequestState.PENDING
    renewed = dataclasses.replace(identity, id_expiry=today + dt.timedelta(days=3650))
    done = campaigns.request_answer(request=request, identity=renewed, consent=consent)
    assert done.state == RequestState.VERIFIED
    person = Person.objects.get(pk=tx.applicant_id)
    assert person.id_expires_on == today + dt.timedelta(days=3650)
    run_cycle(today)
    assert campaign.requests.count() == 1  # renewed: not asked again


def test_a_document_outside_the_notice_period_is_not_asked(open_mobile, citizen, today, alpha):
    alpha.document_notice_days = 5
    alpha.save(update_fields=["document_notice_days"])
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=10)))
    run_cycle(today)
    assert not Campaign.objects.filter(standing=StandingPurpose.DOCUMENT_EXPIRING).exists()


def test_the_document_criterion_selects_holders_by_expiry(open_mobile, citizen, today, alpha):
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=10)))
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=400)))
    campaign = Campaign(operator=alpha, criteria={"document_expiring_within_days": 30})
    assert campaigns.matching_lines(campaign).count() == 1


@pytest.mark.parametrize("days", [-1, 10**9, "30", True])
def test_a_bad_document_criterion_is_400_on_its_field(days, alpha, make_staff, api_client_for):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    response = api_client_for(officer).post(
        "/api/v1/campaigns/",
        {
            "name": "Expiring",
            "criteria": {"document_expiring_within_days": days},
            "deadline": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
            "reminder_days": [7],
            "channels": ["file"],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"criteria-{days!r}",
    )
    assert response.status_code == 400, response.json()
    assert "criteria.document_expiring_within_days" in response.json()["error"]["fields"]
    assert not Campaign.objects.exists()


# --- Words people read -------------------------------------------------------------------


def test_the_new_words_read_in_both_languages(compiled_catalogue):  # noqa: F811
    for language, expected in (("zh-hans", "访客获准停留期已满"), ("en", "permitted stay ended")):
        with translation.override(language):
            assert expected in line_status_reason_label(stays.STAY_ENDED)
    with translation.override("zh-hans"):
        assert str(StandingPurpose.DOCUMENT_EXPIRING.label) == "证件即将到期"
        assert "stay_ended" not in line_status_reason_label(stays.STAY_ENDED)


def test_the_stay_reminder_is_written_in_the_holders_language(
    submit, inventory, visitor, today, outbox
):
    submit(
        "mobile_open",
        applicant=dataclasses.replace(visitor, language="en"),
        stay_until=today + dt.timedelta(days=7),
    )
    run_cycle(today)
    (message,) = [m for m in outbox_lines(outbox) if m["kind"] == "stay_ending"]
    assert message["language"] == "en"
    assert "The stay registered for your line" in message["text"]
    assert visitor.name not in message["text"]
    # The link opens /my-lines/ in the holder's language and their operator's brand.
    assert message["link"].endswith("/my-lines/?operator=alpha&lang=en")


# --- At the counter ----------------------------------------------------------------------


def test_the_wizard_asks_a_visitor_for_the_end_of_stay_and_keeps_it(
    counter,  # noqa: F811
    visitor,
    today,
    compiled_catalogue,  # noqa: F811
):
    stay = today + dt.timedelta(days=30)
    completed(
        take(
            counter,
            "mobile_open",
            {"number": "", "stay_until": stay.isoformat()},
            applicant=visitor,
        )
    )
    assert Line.objects.get().stay_until == stay


def test_the_wizard_does_not_ask_a_resident_for_an_end_of_stay(counter, citizen):  # noqa: F811
    response = counter.post(url("identity", "mobile_open"), block("applicant", citizen()))
    assert response.status_code == 302
    notice_hash = counter.get(url("notice", "mobile_open")).context["notices"][0].content_hash
    counter.post(
        url("notice", "mobile_open"), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    page = counter.get(url("details", "mobile_open"))
    assert "stay_until" not in page.context["form"].fields


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_visitors_wizard_pages_are_translated(
    shop,  # noqa: F811
    rng,
    today,
    language,
    compiled_catalogue,  # noqa: F811
):
    operator, clerk, _ = shop
    _set_language(operator, language)
    visitor = known(synthetic_identity(rng=rng, id_type="foreign_passport", today=today))
    shop_counter = privileged_login(Client(), clerk.user)
    assert (
        shop_counter.post(url("identity", "mobile_open"), block("applicant", visitor)).status_code
        == 302
    )
    notice_hash = shop_counter.get(url("notice", "mobile_open")).context["notices"][0].content_hash
    shop_counter.post(
        url("notice", "mobile_open"), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    pages = {"details": shop_counter.get(url("details", "mobile_open")).content.decode()}
    stay = (today + dt.timedelta(days=30)).isoformat()
    posted = shop_counter.post(url("details", "mobile_open"), {"number": "", "stay_until": stay})
    assert posted.status_code == 302
    pages["confirm"] = shop_counter.get(url("confirm", "mobile_open")).content.decode()
    label = {"zh-hans": "停留截止日期", "en": "End of stay"}[language]
    for name, html in pages.items():
        assert visible(html, language).html_lang == language, name
        assert label in html, name
        if language == "zh-hans":
            assert untranslated(html, compiled_catalogue) == [], name


def cycle_and_send(day: dt.date) -> campaigns.CycleResult:
    """The cycle at 09:00 on ``day``, and every batch it queued sent at once."""
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
    result = campaigns.reverification_cycle(now=now)
    for pk in result.batches:
        dispatch.batch_send(batch_id=pk, now=now)
    return result


def test_a_document_request_is_noticed_reminded_and_barred_like_a_campaigns(
    open_mobile, citizen, today, alpha, outbox
):
    tx, _identity = open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=10)))
    assert cycle_and_send(today).documents_asked == 1
    request = ReverificationRequest.objects.get(line=tx.line)
    assert request.deadline == today + dt.timedelta(days=alpha.reverification_response_days)
    kinds = [m["kind"] for m in outbox_lines(outbox) if m["request"] == request.pk]
    assert kinds == ["notice"]
    # A holder whose document comes due later gets their own notice too.
    later, _ = open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=40)))
    assert cycle_and_send(today + dt.timedelta(days=11)).documents_asked == 1
    assert [m["kind"] for m in outbox_lines(outbox) if m["request"] != request.pk] == ["notice"]
    cycle_and_send(request.deadline - dt.timedelta(days=7))
    cycle_and_send(request.deadline - dt.timedelta(days=7))
    kinds = [m["kind"] for m in outbox_lines(outbox) if m["request"] == request.pk]
    assert kinds == ["notice", "reminder"]
    line = Line.objects.get(pk=tx.line_id)
    assert line.status == LineStatus.ACTIVE
    cycle_and_send(request.deadline + dt.timedelta(days=1))
    line.refresh_from_db()
    request.refresh_from_db()
    assert request.state == RequestState.EXPIRED
    assert (line.status, line.status_reason) == (
        LineStatus.BARRED_OUTGOING,
        "reverification_expired",
    )
    kinds = [m["kind"] for m in outbox_lines(outbox) if m["request"] == request.pk]
    assert kinds == ["notice", "reminder", "expiry"]
    assert ReverificationRequest.objects.get(line=later.line).state == RequestState.PENDING


def test_the_store_page_restores_a_visitor_line_with_a_later_stay(
    submit, inventory, visitor, today, alpha_clerk, web_client_for, alpha_notice
):
    stay = today + dt.timedelta(days=3)
    line = submit("mobile_open", applicant=visitor, stay_until=stay).line
    Line.objects.filter(pk=line.pk).update(
        status=LineStatus.BARRED_OUTGOING, status_reason=stays.STAY_ENDED
    )
    client = web_client_for(alpha_clerk)
    page = f"/store/lines/{line.uid}/reverify/"
    assert "stay_until" in client.get(page).context["form"].fields
    fields = {
        "id_type": visitor.id_type,
        "id_number": visitor.id_number,
        "name": visitor.name,
        "date_of_birth": visitor.date_of_birth.isoformat(),
        "sex": visitor.sex,
        "id_expiry": visitor.id_expiry.isoformat(),
        "nationality": visitor.nationality or "",
        "consent": "on",
        "notice": alpha_notice.content_hash,
    }
    refused = client.post(page, {**fields, "stay_until": stay.isoformat()})
    assert refused.status_code == 400
    assert refused.context["form"].errors["stay_until"]
    later = today + dt.timedelta(days=60)
    done = client.post(page, {**fields, "stay_until": later.isoformat()})
    assert done.status_code == 200
    assert done.context["done"]
    line.refresh_from_db()
    assert (line.status, line.stay_until) == (LineStatus.ACTIVE, later)


def test_a_resident_line_without_a_request_has_no_store_reverification(
    open_mobile, alpha_clerk, web_client_for
):
    tx, _ = open_mobile()
    assert (
        web_client_for(alpha_clerk).get(f"/store/lines/{tx.line.uid}/reverify/").status_code == 404
    )


def test_the_line_look_up_names_the_end_of_stay_and_its_reason_in_words(
    submit, inventory, visitor, today, alpha_clerk, web_client_for
):
    line = submit("mobile_open", applicant=visitor, stay_until=today + dt.timedelta(days=3)).line
    Line.objects.filter(pk=line.pk).update(
        status=LineStatus.BARRED_OUTGOING,
        status_reason=stays.STAY_ENDED,
        status_changed_at=timezone.now(),
    )
    html = (
        web_client_for(alpha_clerk)
        .post(reverse("registration:lines"), {"number": line.number})
        .content.decode()
    )
    assert "permitted stay ended" in html
    assert "stay_ended" not in html
    assert f"/store/lines/{line.uid}/reverify/" in html


def test_a_failing_stays_step_does_not_stop_the_campaigns(open_mobile, citizen, today, monkeypatch):
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=10)))

    def broken(**_kwargs):
        raise RuntimeError("stays down")

    monkeypatch.setattr(stays, "stays_cycle", broken)
    result = cycle_and_send(today)
    assert result.documents_asked == 1
    assert result.stays_ended == 0


def test_a_closed_document_campaign_asks_no_more(open_mobile, citizen, today, alpha_compliance):
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=10)))
    cycle_and_send(today)
    campaign = Campaign.objects.get(standing=StandingPurpose.DOCUMENT_EXPIRING)
    campaigns.campaign_close(campaign=campaign, actor=alpha_compliance.user)
    open_mobile(identity=citizen(id_expiry=today + dt.timedelta(days=5)))
    assert cycle_and_send(today + dt.timedelta(days=1)).documents_asked == 0
    assert campaign.requests.filter(state=RequestState.PENDING).count() == 0
