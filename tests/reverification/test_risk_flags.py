"""Risk flags (issue 16): POST /api/v1/risk-flags/ by a compliance officer or a
risk-feed partner; high bars the line at once and asks an in-store
re-verification within 24 hours, medium opens a normal request; passing
restores the line, missing the deadline suspends it (the clock moved)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from operators import services as operator_services
from operators.models import PartnerKind
from operators.roles import Role
from registration.models import Line, LineStatus
from reverification import campaigns, dispatch, risk
from reverification.models import (
    Campaign,
    DispatchBatch,
    RequestState,
    ReverificationRequest,
    RiskFlag,
    RiskFlagState,
    StandingPurpose,
)
from tests.catalogues import compile_catalogues
from tests.conftest import issue_token
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/risk-flags/"


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


@pytest.fixture
def officer(alpha, make_staff, api_client_for):
    return api_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))


def partner_client(operator, name: str, kind: str) -> APIClient:
    user = UserFactory(username=f"{operator.code}-{name}")
    operator_services.partner_create(user=user, operator=operator, name=name, kind=kind)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)}")
    return client


def flag(client, line, tier="high", reason="Reported by the anti-fraud centre"):
    return client.post(URL, {"line": line.number, "tier": tier, "reason": reason}, format="json")


def send_notices(outbox) -> list[dict]:
    for pk in DispatchBatch.objects.values_list("pk", flat=True):
        dispatch.batch_send(batch_id=pk)
    return [json.loads(x) for x in outbox.read_text().splitlines()] if outbox.exists() else []


def test_a_high_flag_bars_at_once_and_asks_an_in_store_visit_within_24_hours(
    officer, open_mobile, outbox
):
    tx, _ = open_mobile()
    before = timezone.now()
    response = flag(officer, tx.line)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tier"] == "high"
    assert body["state"] == "open"
    assert body["line_status"] == "barred_outgoing"
    line = Line.objects.get(pk=tx.line.pk)
    assert (line.status, line.status_reason) == (LineStatus.BARRED_OUTGOING, "risk")
    flag_row = RiskFlag.objects.get()
    assert (
        dt.timedelta(hours=23, minutes=59)
        < flag_row.due_at - before
        <= dt.timedelta(hours=24, seconds=5)
    )
    request = flag_row.request
    assert request.state == RequestState.PENDING
    assert request.campaign.standing == StandingPurpose.RISK_HIGH
    (notice,) = [m for m in send_notices(outbox) if m["request"] == request.pk]
    assert notice["kind"] == "notice"
    expected = {
        "en": "Visit one of our stores with your identity document within 24 hours",
        "zh-hans": "24小时内携带身份证件到我们的任一营业厅",
    }[notice["language"]]
    assert expected in notice["text"]
    assert tx.line.number not in notice["text"]


def test_the_link_of_a_high_flag_says_visit_a_store_and_offers_no_form(
    officer, open_mobile, outbox, client, consent
):
    tx, holder = open_mobile()
    flag(officer, tx.line)
    (notice,) = [m for m in send_notices(outbox) if m["kind"] == "notice"]
    link = notice["link"].split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{link.split('?')[0]}?lang=en").content.decode()
    assert 'id="in-store-only"' in page
    assert "Visit one of our stores with your identity document" in page
    assert 'id="verify"' not in page
    assert "<form" not in page.split('id="in-store-only"', 1)[1]
    # Posting the form anyway is refused, and a self-service answer too.
    posted = client.post(f"/{link.split('?')[0]}", {"id_number": holder.id_number})
    assert posted.status_code == 403
    request = RiskFlag.objects.get().request
    with pytest.raises(risk.InStoreOnly):
        campaigns.request_answer(request=request, identity=holder, consent=consent)
    assert ReverificationRequest.objects.get(pk=request.pk).state == RequestState.PENDING


def test_passing_in_store_restores_the_line_and_clears_the_flag(
    officer, open_mobile, outbox, consent, alpha_clerk
):
    tx, holder = open_mobile()
    flag(officer, tx.line)
    request = RiskFlag.objects.get().request
    campaigns.request_answer(
        request=request,
        identity=holder,
        consent=consent,
        channel="store",
        actor=alpha_clerk.user,
        store=alpha_clerk.store,
    )
    line = Line.objects.get(pk=tx.line.pk)
    assert line.status == LineStatus.ACTIVE
    assert RiskFlag.objects.get().state == RiskFlagState.CLEARED


def test_missing_the_24_hours_suspends_the_line_in_the_cycle(officer, open_mobile, outbox):
    tx, _ = open_mobile()
    flag(officer, tx.line)
    flag_row = RiskFlag.objects.get()
    early = campaigns.reverification_cycle(now=flag_row.due_at - dt.timedelta(minutes=1))
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.BARRED_OUTGOING
    assert early.suspended == 0
    late = campaigns.reverification_cycle(now=flag_row.due_at + dt.timedelta(minutes=1))
    line = Line.objects.get(pk=tx.line.pk)
    assert (line.status, line.status_reason) == (LineStatus.SUSPENDED, "risk")
    assert late.suspended >= 1
    flag_row.refresh_from_db()
    assert flag_row.state == RiskFlagState.LAPSED
    assert flag_row.request.state == RequestState.EXPIRED
    # Running again changes nothing.
    again = campaigns.reverification_cycle(now=flag_row.due_at + dt.timedelta(minutes=2))
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.SUSPENDED
    assert again.suspended == 0


def test_a_lapsed_high_flag_is_restored_by_a_later_in_store_verification(
    officer, open_mobile, outbox, consent, alpha_clerk
):
    tx, holder = open_mobile()
    flag(officer, tx.line)
    flag_row = RiskFlag.objects.get()
    campaigns.reverification_cycle(now=flag_row.due_at + dt.timedelta(hours=1))
    campaigns.request_answer(
        request=flag_row.request,
        identity=holder,
        consent=consent,
        channel="store",
        actor=alpha_clerk.user,
        store=alpha_clerk.store,
    )
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.ACTIVE


def test_a_medium_flag_opens_a_normal_request_that_the_link_answers(
    officer, open_mobile, outbox, consent, alpha, today
):
    tx, holder = open_mobile()
    response = flag(officer, tx.line, tier="medium")
    assert response.status_code == 201
    assert response.json()["line_status"] == "active"
    flag_row = RiskFlag.objects.get()
    request = flag_row.request
    assert request.campaign.standing == StandingPurpose.RISK_MEDIUM
    assert request.deadline == today + dt.timedelta(days=alpha.reverification_response_days)
    assert not risk.in_store_only(request)
    campaigns.request_answer(request=request, identity=holder, consent=consent)
    assert RiskFlag.objects.get().state == RiskFlagState.CLEARED


def test_a_missed_medium_deadline_bars_then_suspends_like_any_request(
    officer, open_mobile, outbox, alpha
):
    tx, _ = open_mobile()
    flag(officer, tx.line, tier="medium")
    request = RiskFlag.objects.get().request
    after = timezone.make_aware(
        dt.datetime.combine(request.deadline + dt.timedelta(days=1), dt.time(9))
    )
    campaigns.reverification_cycle(now=after)
    line = Line.objects.get(pk=tx.line.pk)
    assert line.status == LineStatus.BARRED_OUTGOING
    assert RiskFlag.objects.get().state == RiskFlagState.LAPSED
    later = after + dt.timedelta(days=alpha.reverification_suspend_after_days + 1)
    campaigns.reverification_cycle(now=later)
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.SUSPENDED


def test_a_second_flag_is_refused_but_high_supersedes_medium(officer, open_mobile, outbox):
    tx, _ = open_mobile()
    assert flag(officer, tx.line, tier="medium").status_code == 201
    again = flag(officer, tx.line, tier="medium")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "risk_flag_open"
    assert flag(officer, tx.line, tier="high").status_code == 201
    states = dict(RiskFlag.objects.values_list("tier", "state"))
    assert states == {"medium": "superseded", "high": "open"}
    assert flag(officer, tx.line, tier="high").status_code == 409


def test_a_risk_feed_partner_flags_and_reaches_nothing_else(alpha, open_mobile, outbox):
    tx, _ = open_mobile()
    feed = partner_client(alpha, "antifraud", PartnerKind.RISK_FEED)
    assert flag(feed, tx.line).status_code == 201
    assert RiskFlag.objects.get().source == "risk_feed"
    assert feed.get(f"/api/v1/lines/{tx.line.number}/").status_code == 403
    camara = feed.post(
        "/api/camara/sim-swap/check", {"phoneNumber": tx.line.number, "maxAge": 24}, format="json"
    )
    assert camara.status_code == 403


def test_a_fraud_check_partner_cannot_flag(alpha, open_mobile, outbox):
    tx, _ = open_mobile()
    bank = partner_client(alpha, "bank", PartnerKind.FRAUD_CHECKS)
    response = flag(bank, tx.line)
    assert response.status_code == 403
    assert not RiskFlag.objects.exists()


def test_a_clerk_cannot_flag_and_another_operators_line_is_404(
    alpha_clerk, api_client_for, beta, make_staff, open_mobile, outbox
):
    tx, _ = open_mobile()
    assert flag(api_client_for(alpha_clerk), tx.line).status_code == 403
    beta_officer = api_client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert flag(beta_officer, tx.line).status_code == 404
    beta_feed = partner_client(beta, "antifraud", PartnerKind.RISK_FEED)
    assert flag(beta_feed, tx.line).status_code == 404
    assert not RiskFlag.objects.exists()
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.ACTIVE


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tier": "extreme", "reason": "Reported"}, "tier"),
        ({"tier": "high", "reason": ""}, "reason"),
        ({"tier": "high", "reason": "x" * 301}, "reason"),
        ({"tier": "high", "reason": "bad\x07reason"}, "reason"),
        ({"tier": "high"}, "reason"),
        ({"reason": "Reported"}, "tier"),
    ],
    ids=[
        "unknown tier",
        "empty reason",
        "long reason",
        "control character",
        "no reason",
        "no tier",
    ],
)
def test_bad_input_is_400_on_its_field_and_stores_nothing(
    officer, open_mobile, outbox, body, field
):
    tx, _ = open_mobile()
    response = officer.post(URL, {"line": tx.line.number, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not RiskFlag.objects.exists()
    assert not Campaign.objects.filter(standing__startswith="risk").exists()
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.ACTIVE


def test_a_nul_in_the_reason_is_refused(officer, open_mobile, outbox):
    tx, _ = open_mobile()
    response = officer.post(
        URL, {"line": tx.line.number, "tier": "high", "reason": "a\x00b reason"}, format="json"
    )
    assert response.status_code == 400
    assert not RiskFlag.objects.exists()


def test_an_unknown_number_is_404(officer, alpha, outbox):
    response = officer.post(
        URL, {"line": "+8613999999999", "tier": "high", "reason": "Reported"}, format="json"
    )
    assert response.status_code == 404


# --- The subscriber disputes a flag from /my-lines/ --------------------------------------


def my_lines_client(holder, outbox):
    from django.test import Client

    from tests.reverification.subscriber_states import last_code

    client = Client()
    client.post(
        "/my-lines/?lang=en",
        {
            "step": "start",
            "operator": "alpha",
            "id_type": holder.id_type,
            "id_number": holder.id_number,
            "name": holder.name,
        },
    )
    assert (
        client.post("/my-lines/?lang=en", {"step": "code", "code": last_code(outbox)}).status_code
        == 200
    )
    return client


def test_the_subscriber_sees_the_flag_disputes_it_and_compliance_upholds_it(
    officer, open_mobile, outbox, alpha, make_staff, web_client_for
):
    from django.urls import reverse

    from reverification.models import Dispute, DisputeReason, DisputeState

    tx, holder = open_mobile()
    flag(officer, tx.line)
    client = my_lines_client(holder, outbox)
    page = client.get("/my-lines/?lang=en").content.decode()
    assert 'data-tier="high"' in page
    assert "Visit one of our stores with your identity document by" in page
    response = client.post(
        "/my-lines/?lang=en",
        {"step": "risk_dispute", "line": str(tx.line.uid), "reason_text": "I am the holder"},
    )
    assert response.status_code == 200
    assert 'id="risk-disputed"' in response.content.decode()
    client.post("/my-lines/?lang=en", {"step": "risk_dispute", "line": str(tx.line.uid)})
    dispute = Dispute.objects.get()
    assert dispute.reason == DisputeReason.RISK_FLAG
    assert dispute.risk_flag == RiskFlag.objects.get()
    assert 'id="risk-disputed-1"' in client.get("/my-lines/?lang=en").content.decode()

    console = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    queue = console.get(reverse("console:reverification_dispute_changelist"))
    assert dispute in list(queue.context["cl"].result_list)
    done = console.post(
        reverse("console:reverification_dispute_changelist"),
        {"action": "uphold_risk_dispute", "_selected_action": [dispute.pk]},
    )
    assert done.status_code == 302
    dispute.refresh_from_db()
    assert dispute.state == DisputeState.UPHELD
    assert RiskFlag.objects.get().state == RiskFlagState.LIFTED
    line = Line.objects.get(pk=tx.line.pk)
    assert line.status == LineStatus.ACTIVE
    assert RiskFlag.objects.get().request.state == RequestState.CANCELLED


def test_a_line_without_a_flag_or_another_persons_line_cannot_be_disputed(
    officer, open_mobile, outbox
):
    from reverification.models import Dispute

    tx, holder = open_mobile()
    other, _ = open_mobile()
    flag(officer, other.line)
    client = my_lines_client(holder, outbox)
    unflagged = client.post(
        "/my-lines/?lang=en", {"step": "risk_dispute", "line": str(tx.line.uid)}
    )
    assert unflagged.status_code == 400
    assert "This line has no open risk flag." in unflagged.content.decode()
    foreign = client.post(
        "/my-lines/?lang=en", {"step": "risk_dispute", "line": str(other.line.uid)}
    )
    assert foreign.status_code == 404
    assert not Dispute.objects.exists()


def test_the_console_raises_a_flag_and_shows_it_with_its_request(
    alpha, make_staff, web_client_for, open_mobile, outbox
):
    from django.urls import reverse

    tx, _ = open_mobile()
    console = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    url = reverse("console:reverification_riskflag_raise")
    assert console.get(url).status_code == 200
    bad = console.post(url, {"line": tx.line.number, "tier": "high", "reason": ""})
    assert bad.status_code == 400
    assert 'id="error-reason"' in bad.content.decode()
    unknown = console.post(url, {"line": "+8613999999999", "tier": "high", "reason": "Feed"})
    assert unknown.status_code == 400
    assert 'id="error-line"' in unknown.content.decode()
    done = console.post(url, {"line": tx.line.number, "tier": "high", "reason": "Feed report"})
    assert done.status_code == 302
    flag_row = RiskFlag.objects.get()
    page = console.get(reverse("console:reverification_riskflag_change", args=[flag_row.pk]))
    body = page.content.decode()
    assert f"request #{flag_row.request_id}" in body
    assert tx.line.number not in body
    listing = console.get(reverse("console:reverification_riskflag_changelist"))
    assert flag_row in list(listing.context["cl"].result_list)
    lifted = console.post(
        reverse("console:reverification_riskflag_lift", args=[flag_row.pk]),
        {"reason": "Mistaken report"},
    )
    assert lifted.status_code == 302
    assert RiskFlag.objects.get().state == RiskFlagState.LIFTED
    assert Line.objects.get(pk=tx.line.pk).status == LineStatus.ACTIVE


def test_a_retried_post_with_its_idempotency_key_raises_one_flag(alpha, open_mobile, outbox):
    tx, _ = open_mobile()
    feed = partner_client(alpha, "antifraud", PartnerKind.RISK_FEED)
    body = {"line": tx.line.number, "tier": "high", "reason": "Reported by the centre"}
    first = feed.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="flag-0001-abcdef")
    again = feed.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="flag-0001-abcdef")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert RiskFlag.objects.count() == 1
