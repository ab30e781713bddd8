"""The partner APIs (issue 13, "Partner APIs for banks and apps"): partners
sign in like staff but reach only ``/api/camara/``; staff never reach it; the
number-recycling check's answers; the CAMARA error shape for every refusal;
each call logged with its partner and never a clear number; a throttle per
partner. On PostgreSQL (DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import logging

import phonenumbers
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.api import DomainError
from identity import selectors as identity_selectors
from identity.services import ConsentInput
from operators import demo, services
from operators.models import Partner
from operators.roles import Role
from operators.timezones import zone_of
from registration import closing, partner_api
from registration.models import CloseReason, Line, LineKind, PartnerCall, PhoneNumber
from registration.services import TransactionRequest, transaction_submit
from tests.conftest import issue_token, privileged_login
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

CHECK = "/api/camara/number-recycling/check"
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # Throttle history lives in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


def make_partner(operator, name: str) -> Partner:
    user = UserFactory(username=f"{operator.code}-{name}")
    return services.partner_create(user=user, operator=operator, name=f"{name} bank")


def partner_client(partner: Partner) -> APIClient:
    """A partner signed in the documented way: POST /api/v1/auth/token/."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(partner.user)}")
    return client


@pytest.fixture
def alpha_partner(alpha):
    return make_partner(alpha, "partner")


@pytest.fixture
def beta_partner(beta):
    return make_partner(beta, "partner")


@pytest.fixture
def partner(alpha_partner):
    return partner_client(alpha_partner)


def today_at(operator) -> dt.date:
    return timezone.localdate(timezone.now(), zone_of(operator))


def check(client, number: str, day: dt.date | str, **extra):
    body = {"phoneNumber": number, "specifiedDate": str(day), **extra}
    return client.post(CHECK, body, format="json")


def assert_camara(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"status", "code", "message"}, body
    assert body["status"] == status
    assert body["code"] == code
    assert body["message"]
    return body


@pytest.fixture
def recycle(settings, open_mobile):
    """Open a line, close it, release its number and give it to ``identity``
    (a new citizen by default): (old line, new line)."""
    settings.TELEREG_QUARANTINE_DAYS = 0

    def do(line: Line | None = None, identity=None) -> tuple[Line, Line]:
        if line is None:
            line = open_mobile()[0].line
        closing.line_close(line=line, reason=CloseReason.OTHER, actor=None)
        closing.numbers_release_due(now=timezone.now() + SECOND)
        tx, _ = open_mobile(identity=identity, number=line.number)
        assert tx.line.recycled_at is not None
        return line, tx.line

    return do


def recycled_days_ago(line: Line, days: int) -> None:
    """Move a recycling into the past (the clock of the test, not a sleep)."""
    moment = timezone.now() - days * DAY
    Line.objects.filter(pk=line.pk).update(recycled_at=moment, registered_at=moment)
    old = Line.objects.filter(number=line.number).exclude(pk=line.pk).get()
    Line.objects.filter(pk=old.pk).update(registered_at=moment - 30 * DAY, closed_at=moment - DAY)


# --- The answers ---------------------------------------------------------------------------------


def test_a_number_recycled_after_the_date_is_recycled(partner, alpha, recycle):
    _, new = recycle()
    yesterday = today_at(alpha) - DAY
    response = check(partner, new.number, yesterday)
    assert response.status_code == 200, response.json()
    assert response.json() == {"phoneNumberRecycled": True}


def test_a_number_recycled_on_the_date_itself_counts(partner, alpha, recycle):
    _, new = recycle()
    assert check(partner, new.number, today_at(alpha)).json() == {"phoneNumberRecycled": True}


def test_a_number_recycled_before_the_date_is_not(partner, alpha, recycle):
    _, new = recycle()
    recycled_days_ago(new, 10)
    today = today_at(alpha)
    assert check(partner, new.number, today - 5 * DAY).json() == {"phoneNumberRecycled": False}
    assert check(partner, new.number, today - 20 * DAY).json() == {"phoneNumberRecycled": True}


def test_a_number_never_closed_is_not_recycled(partner, alpha, open_mobile):
    tx, _ = open_mobile()
    response = check(partner, tx.line.number, today_at(alpha) - 365 * DAY)
    assert response.json() == {"phoneNumberRecycled": False}


def test_a_number_closed_but_not_given_again_is_not_recycled(partner, alpha, open_mobile):
    tx, _ = open_mobile()
    closing.line_close(line=tx.line, reason=CloseReason.NON_PAYMENT, actor=None)
    response = check(partner, tx.line.number, today_at(alpha) - 365 * DAY)
    assert response.json() == {"phoneNumberRecycled": False}


def test_the_same_holder_taking_their_number_back_is_no_change_of_holder(
    partner, alpha, open_mobile, recycle, citizen
):
    identity = citizen()
    tx, _ = open_mobile(identity=identity)
    recycle(line=tx.line, identity=identity)
    response = check(partner, tx.line.number, today_at(alpha) - DAY)
    assert response.json() == {"phoneNumberRecycled": False}


def test_a_number_written_nationally_or_with_spaces_is_refused_not_guessed(
    partner, alpha, open_mobile
):
    tx, _ = open_mobile()
    national = tx.line.number.removeprefix("+86")
    for written in (national, f"+86 {national}", f"0086{national}"):
        assert_camara(check(partner, written, today_at(alpha)), 400, "INVALID_ARGUMENT")


# --- Tenancy: unknown and another operator's numbers ---------------------------------------------


def test_an_unknown_number_is_404_in_the_camara_shape(partner, alpha, inventory):
    never_used = PhoneNumber.objects.filter(operator=alpha, kind=LineKind.MOBILE).last()
    body = assert_camara(
        check(partner, never_used.number, today_at(alpha)), 404, "IDENTIFIER_NOT_FOUND"
    )
    assert never_used.number not in body["message"]


def test_another_operators_number_is_404_like_an_unknown_one(
    partner, beta_partner, alpha, beta, beta_store, make_staff, publish_notice, citizen
):
    number = "+8613900139000"
    PhoneNumber.objects.create(operator=beta, number=number, kind=LineKind.MOBILE)
    beta_clerk = make_staff(beta, Role.CLERK, store=beta_store)
    notice = publish_notice(beta)
    tx = transaction_submit(
        actor=beta_clerk.user,
        request=TransactionRequest(
            kind="mobile_open",
            consent=ConsentInput(notice.content_hash, True),
            applicant=citizen(),
            number=number,
        ),
    )
    assert tx.line.operator == beta
    unknown = check(partner, "+8613900139999", today_at(alpha))
    foreign = check(partner, number, today_at(alpha))
    assert_camara(foreign, 404, "IDENTIFIER_NOT_FOUND")
    assert foreign.json() == unknown.json()
    own = check(partner_client(beta_partner), number, today_at(beta))
    assert own.json() == {"phoneNumberRecycled": False}


# --- Who may call: partners only, and partners nowhere else ---------------------------------------


def test_staff_tokens_are_refused_on_the_partner_api(
    alpha, open_mobile, alpha_clerk, alpha_compliance, make_staff, api_client_for
):
    tx, _ = open_mobile()
    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    for staff in (alpha_clerk, alpha_compliance, admin):
        response = check(api_client_for(staff), tx.line.number, today_at(alpha))
        assert_camara(response, 403, "PERMISSION_DENIED")
    assert not PartnerCall.objects.exists()


def test_a_staff_session_is_refused_on_the_partner_api(alpha, open_mobile, alpha_clerk):
    tx, _ = open_mobile()
    client = privileged_login(APIClient(), alpha_clerk.user)
    response = check(client, tx.line.number, today_at(alpha))
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"status", "code", "message"}


def test_without_a_token_the_partner_api_answers_401_in_the_camara_shape(alpha, inventory):
    response = check(APIClient(), "+8613800138000", today_at(alpha))
    assert_camara(response, 401, "UNAUTHENTICATED")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert_camara(check(bad, "+8613800138000", today_at(alpha)), 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/me/", None),
        ("get", "/api/v1/lines/?number=%2B8613800138000", None),
        ("get", "/api/v1/lines/+8613800138000/", None),
        ("post", "/api/v1/persons/lookup/", {"id_type": "cn_resident_id", "id_number": "1"}),
        ("post", "/api/v1/transactions/", {"kind": "mobile_open"}),
        ("get", "/api/v1/undertaking/", None),
        ("post", "/api/v1/lines/+8613800138000/close/", {"reason": "fraud"}),
    ],
)
def test_a_partner_token_is_refused_on_every_staff_endpoint(
    partner, open_mobile, method, path, body
):
    open_mobile()
    response = getattr(partner, method)(path, body, format="json") if body else partner.get(path)
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "not_staff"


@pytest.mark.parametrize("path", ["/", "/store/transactions/", "/console/", "/undertaking/"])
def test_a_partner_signed_in_on_the_pages_is_refused_everywhere(alpha_partner, path):
    client = privileged_login(Client(), alpha_partner.user)
    response = client.get(path)
    assert response.status_code == 403


def test_a_partner_signing_in_on_the_sign_in_page_reaches_no_page(alpha_partner):
    client = Client()
    client.post("/sign-in/", {"username": alpha_partner.user.username, "password": PASSWORD})
    for path in ("/", "/console/", "/store/transactions/"):
        assert client.get(path).status_code in (302, 403), path
    assert "Store counter" not in client.get("/", follow=True).content.decode()


def test_a_deactivated_partner_loses_its_token(alpha, alpha_partner, open_mobile):
    tx, _ = open_mobile()
    client = partner_client(alpha_partner)
    assert check(client, tx.line.number, today_at(alpha)).status_code == 200
    alpha_partner.active = False
    alpha_partner.save()
    assert_camara(check(client, tx.line.number, today_at(alpha)), 401, "UNAUTHENTICATED")


def test_a_partner_account_made_a_superuser_later_is_still_no_platform_admin(
    alpha_partner, open_mobile
):
    open_mobile()
    # Someone with shell access flips the flag after the partner was created.
    alpha_partner.user.is_superuser = True
    alpha_partner.user.save()
    client = partner_client(alpha_partner)
    for path in ("/api/v1/me/", "/api/v1/lines/+8613800138000/"):
        response = client.get(path)
        assert response.status_code == 403, (path, response.content)
    pages = privileged_login(Client(), alpha_partner.user)
    assert pages.get("/console/").status_code == 403


def test_a_staff_members_account_cannot_become_a_partner(alpha, alpha_clerk):
    with pytest.raises(DomainError) as refused:
        services.partner_create(user=alpha_clerk.user, operator=alpha, name="sneaky")
    assert refused.value.code == "partner_account_invalid"
    assert not Partner.objects.exists()


# --- Bad input: 400 in the CAMARA shape -------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"specifiedDate": "2026-01-01"},
        {"phoneNumber": "+8613800138000"},
        {"phoneNumber": "8613800138000", "specifiedDate": "2026-01-01"},
        {"phoneNumber": "+86abc", "specifiedDate": "2026-01-01"},
        {"phoneNumber": "+861", "specifiedDate": "2026-01-01"},
        {"phoneNumber": "+12025550123", "specifiedDate": "2026-01-01"},
        {"phoneNumber": "+8613800138000", "specifiedDate": "2026-02-30"},
        {"phoneNumber": "+8613800138000", "specifiedDate": "01/02/2026"},
        {"phoneNumber": "+8613800138000", "specifiedDate": "2026-01-01T00:00:00Z"},
        {"phoneNumber": "+8613800138000", "specifiedDate": "9999-12-31"},
        {"phoneNumber": "+86138\x00138000", "specifiedDate": "2026-01-01"},
        {"phoneNumber": "+8613800138000", "specifiedDate": "2026-01-01\x00"},
        {"phoneNumber": "+" + "8" * 10_000, "specifiedDate": "2026-01-01"},
        {"phoneNumber": 8613800138000, "specifiedDate": "2026-01-01"},
        {"phoneNumber": ["+8613800138000"], "specifiedDate": "2026-01-01"},
    ],
)
def test_bad_input_is_400_invalid_argument_and_never_echoed(partner, open_mobile, body):
    open_mobile()
    response = partner.post(CHECK, body, format="json")
    answer = assert_camara(response, 400, "INVALID_ARGUMENT")
    for value in body.values():
        if isinstance(value, str) and len(value) > 6:
            assert value not in answer["message"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
    ],
)
def test_a_malformed_body_is_400_in_the_camara_shape(partner, raw, content_type):
    response = partner.generic("POST", CHECK, raw, content_type=content_type)
    assert_camara(response, 400, "INVALID_ARGUMENT")


def test_the_partner_api_answers_in_the_requests_language_with_unchanged_codes(partner, alpha):
    body = {"phoneNumber": "+8613900139999", "specifiedDate": str(today_at(alpha))}
    response = partner.post(CHECK, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    answer = assert_camara(response, 404, "IDENTIFIER_NOT_FOUND")
    assert answer["message"] == "该号码不是本运营商的用户号码。"


def test_a_future_date_is_refused(partner, alpha, open_mobile):
    tx, _ = open_mobile()
    tomorrow = today_at(alpha) + DAY
    body = assert_camara(check(partner, tx.line.number, tomorrow), 400, "INVALID_ARGUMENT")
    assert "specifiedDate" in body["message"]


def test_other_methods_answer_in_the_camara_shape(partner):
    assert_camara(partner.get(CHECK), 405, "METHOD_NOT_SUPPORTED")


# --- Every call is logged, with the partner and no clear number ----------------------------


def test_every_call_is_logged_with_its_partner_digest_and_mask(
    partner, alpha_partner, alpha, recycle, caplog
):
    _, new = recycle()
    number = new.number
    caplog.set_level(logging.DEBUG)
    ok = check(partner, number, today_at(alpha) - DAY)
    missing = check(partner, "+8613900139999", today_at(alpha))
    bad = check(partner, "not-a-number", today_at(alpha))
    assert (ok.status_code, missing.status_code, bad.status_code) == (200, 404, 400)
    calls = list(PartnerCall.objects.order_by("pk"))
    assert len(calls) == 3
    assert {call.partner_id for call in calls} == {alpha_partner.pk}
    assert {call.operator_id for call in calls} == {alpha.pk}
    assert {call.endpoint for call in calls} == {"number-recycling/check"}
    assert [call.status_code for call in calls] == [200, 404, 400]
    assert calls[0].answer == {"phoneNumberRecycled": True}
    assert calls[1].answer == {"code": "IDENTIFIER_NOT_FOUND"}
    assert calls[2].answer == {"code": "INVALID_ARGUMENT"}
    assert calls[0].number_digest == partner_api.number_digest(number)
    assert calls[0].number_digest != partner_api.number_digest("+8613900139999")
    assert calls[0].number_masked == identity_selectors.phone_masked(number)
    assert calls[2].number_digest == ""
    national = phonenumbers.parse(number).national_number
    for call in calls:
        stored = " ".join(
            str(value) for value in PartnerCall.objects.filter(pk=call.pk).values().get().values()
        )
        assert number not in stored
        assert str(national) not in stored
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert alpha_partner.name in logged
    assert number not in logged
    assert str(national) not in logged
    assert "13900139999" not in logged


def test_a_staff_call_leaves_no_partner_record_and_no_number_in_logs(
    alpha, open_mobile, alpha_clerk, api_client_for, caplog
):
    tx, _ = open_mobile()
    caplog.set_level(logging.DEBUG)
    check(api_client_for(alpha_clerk), tx.line.number, today_at(alpha))
    assert not PartnerCall.objects.exists()
    assert tx.line.number not in "\n".join(r.getMessage() for r in caplog.records)


def test_compliance_sees_its_own_operators_partner_calls_masked_in_the_console(
    partner, alpha, beta, open_mobile, alpha_compliance, make_staff
):
    tx, _ = open_mobile()
    check(partner, tx.line.number, today_at(alpha))
    call = PartnerCall.objects.get()
    console = privileged_login(Client(), alpha_compliance.user)
    listing = console.get(reverse("console:registration_partnercall_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert call.partner.name in html
    assert call.number_masked in html
    assert tx.line.number not in html
    page = console.get(reverse("console:registration_partnercall_change", args=[call.pk]))
    assert page.status_code == 200
    assert tx.line.number not in page.content.decode()
    partners = console.get(reverse("console:operators_partner_changelist"))
    assert partners.status_code == 200
    assert call.partner.name in partners.content.decode()
    other = privileged_login(Client(), make_staff(beta, Role.COMPLIANCE_OFFICER).user)
    foreign = other.get(reverse("console:registration_partnercall_change", args=[call.pk]))
    assert foreign.status_code == 404
    assert (
        call.partner.name
        not in other.get(reverse("console:registration_partnercall_changelist")).content.decode()
    )


def test_the_console_cannot_add_or_change_partners_or_their_calls(
    partner, alpha, open_mobile, make_staff
):
    tx, _ = open_mobile()
    check(partner, tx.line.number, today_at(alpha))
    admin = privileged_login(Client(), make_staff(alpha, Role.OPERATOR_ADMIN).user)
    assert admin.get(reverse("console:operators_partner_add")).status_code == 403
    assert admin.get(reverse("console:registration_partnercall_add")).status_code == 403
    call = PartnerCall.objects.get()
    change = reverse("console:registration_partnercall_change", args=[call.pk])
    admin.post(change, {"status_code": "200", "answer": "{}"})
    call.refresh_from_db()
    assert call.answer == {"phoneNumberRecycled": False}


# --- Throttled per partner --------------------------------------------------------------------


def test_the_partner_api_is_throttled_per_partner(
    monkeypatch, partner, beta_partner, alpha, open_mobile
):
    monkeypatch.setattr(partner_api.PartnerRateThrottle, "THROTTLE_RATES", {"partner": "2/min"})
    tx, _ = open_mobile()
    day = today_at(alpha)
    assert check(partner, tx.line.number, day).status_code == 200
    assert check(partner, tx.line.number, day).status_code == 200
    throttled = check(partner, tx.line.number, day)
    assert_camara(throttled, 429, "TOO_MANY_REQUESTS")
    assert throttled.has_header("Retry-After")
    # Another partner has its own allowance.
    other = check(partner_client(beta_partner), "+8613900139999", day)
    assert other.status_code == 404
    assert PartnerCall.objects.filter(status_code=429).count() == 1


# --- The schema and the demo ------------------------------------------------------------------


def test_the_partner_api_is_in_the_openapi_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json() if "json" in response["Content-Type"] else None
    text = response.content.decode()
    assert "/api/camara/number-recycling/check" in text
    assert "phoneNumberRecycled" in text
    assert "CamaraError" in text
    if schema is not None:
        operation = schema["paths"]["/api/camara/number-recycling/check"]["post"]
        assert {"200", "400", "403", "404", "429"} <= set(operation["responses"])


def test_seed_demo_creates_the_two_demo_partners_who_can_call_the_check(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("seed_demo")
    call_command("seed_demo")
    partners = Partner.objects.select_related("operator", "user").order_by("user__username")
    assert [p.user.username for p in partners] == ["alpha-partner", "beta-partner"]
    assert [p.operator.code for p in partners] == ["alpha", "beta"]
    listed = dict(demo.demo_usernames())
    assert "alpha-partner" in listed
    assert "beta-partner" in listed
    alpha_line = Line.objects.filter(operator__code="alpha").first()
    client = APIClient()
    token = issue_token(partners[0].user, settings.TELEREG_DEMO_PASSWORD)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = check(client, alpha_line.number, today_at(alpha_line.operator))
    assert response.status_code == 200
    assert set(response.json()) == {"phoneNumberRecycled"}
