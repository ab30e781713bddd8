"""The regulator's figures (issue 16): counts against a known fixture, the
period in the operator's time zone, bad input, who may read them, the CSV,
and a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operators.models import Language, Operator
from operators.roles import Role
from registration import closing, disclosures
from registration.models import (
    LineStatus,
    Transaction,
    TransactionKind,
    TransactionState,
)
from reverification import campaigns, reports
from reverification.models import Dispute, DisputeState, ReverificationRequest
from tests.conftest import privileged_login
from tests.factories import StoreFactory
from tests.test_translations import (  # noqa: F401 - the fixture compiles the catalogue
    compiled_catalogue,
    untranslated,
    visible,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/registrations/"


def _request(campaign, line, now, **fields):
    return ReverificationRequest.objects.create(
        campaign=campaign,
        line=line,
        person=line.holder,
        operator=line.operator,
        deadline=timezone.localdate() + dt.timedelta(days=10),
        created_at=now,
        **fields,
    )


def _disclose(officer, second, line, *, refuse=False, release=False, authority_type="police"):
    filed = disclosures.disclosure_file(
        actor=officer.user,
        data=disclosures.DisclosureInput(
            authority="Court of First Instance",
            authority_type=authority_type,
            legal_basis="Civil Procedure Law art. 67",
            case_reference="C-1",
            numbers=[line.number],
            fields=["name"],
        ),
    )
    if refuse:
        return disclosures.disclosure_refuse(disclosure=filed, actor=second.user)
    approved = disclosures.disclosure_approve(disclosure=filed, actor=second.user)
    if release:
        disclosures.disclosure_release(disclosure=approved, actor=officer.user)
    return approved


@pytest.fixture
def staff(alpha, make_staff):
    return {
        "officer": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "second": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "admin": make_staff(alpha, Role.OPERATOR_ADMIN),
    }


@pytest.fixture
def known(alpha, staff, open_mobile, alpha_clerk):
    """A known month of alpha: 3 openings at the clerk's store and 2 refusals at
    another, one old transaction outside the period; one line closed; one of
    each re-verification outcome; two disputes; three disclosure requests."""
    now = timezone.now()
    opened = [open_mobile()[0] for _ in range(3)]
    lines = [tx.line for tx in opened]
    other = StoreFactory(operator=alpha, code="north-1")
    for code in ("cap_reached", "identity_not_verified"):
        Transaction.objects.create(
            reference=f"R-{code}",
            kind=TransactionKind.MOBILE_OPEN,
            state=TransactionState.REJECTED,
            operator=alpha,
            store=other,
            staff=alpha_clerk.user,
            line_kind="mobile",
            refusal_code=code,
        )
    old = Transaction.objects.create(
        reference="R-old",
        kind=TransactionKind.LANDLINE_INSTALL,
        state=TransactionState.CANCELLED,
        operator=alpha,
        store=other,
        staff=alpha_clerk.user,
        line_kind="landline",
    )
    Transaction.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=40))

    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Check",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=staff["officer"].user,
    )
    _request(campaign, lines[0], now, state="verified", verified_at=now)
    _request(campaign, lines[1], now, state="verified", verified_at=now, expired_at=now)
    _request(campaign, lines[2], now, state="expired", expired_at=now)
    lines[2].__class__.objects.filter(pk=lines[2].pk).update(
        status=LineStatus.SUSPENDED, status_reason="reverification_expired", status_changed_at=now
    )

    Dispute.objects.create(operator=alpha, line=lines[0], person=lines[0].holder)
    Dispute.objects.create(
        operator=alpha, line=lines[1], person=lines[1].holder, state=DisputeState.DISMISSED
    )

    _disclose(staff["officer"], staff["second"], lines[0], release=True)
    _disclose(staff["officer"], staff["second"], lines[1], refuse=True, authority_type="court")
    _disclose(staff["officer"], staff["admin"], lines[0])

    closing.line_close(line=lines[1], reason="fraud", actor=staff["admin"].user)
    return lines


def _today() -> str:
    return timezone.localdate().isoformat()


def test_the_figures_match_the_known_fixture(known, staff, api_client_for):
    response = api_client_for(staff["admin"]).get(URL, {"from": _today(), "to": _today()})
    assert response.status_code == 200, response.json()
    report = response.json()
    tx = report["transactions"]
    assert tx["total"] == 5
    assert tx["by_kind"]["mobile_open"] == 5
    assert tx["by_kind"]["landline_install"] == 0
    assert tx["by_state"] == {
        "completed": 3,
        "rejected": 2,
        "pending_verification": 0,
        "pending_review": 0,
        "cancelled": 0,
    }
    assert tx["by_store"] == {known[0].store.code: 3, "north-1": 2}
    assert tx["by_refusal_code"] == {"cap_reached": 1, "identity_not_verified": 1}
    assert report["lines"]["opened"] == 3
    assert report["lines"]["closed"] == 1
    assert report["lines"]["opened_by_status"] == {
        "active": 1,
        "barred_outgoing": 0,
        "suspended": 1,
        "closed": 1,
    }
    assert report["reverification"] == {
        "sent": 3,
        "verified": 2,
        "barred": 2,
        "suspended": 1,
        "restored": 1,
    }
    assert report["disputes"]["opened"] == 2
    assert report["disputes"]["by_state"]["open"] == 1
    assert report["disputes"]["by_state"]["dismissed"] == 1
    d = report["disclosures"]
    assert (d["requested"], d["approved"], d["refused"], d["released"]) == (3, 2, 1, 1)
    assert d["by_authority_type"]["police"] == {
        "requested": 2,
        "approved": 2,
        "refused": 0,
        "released": 1,
    }
    assert d["by_authority_type"]["court"]["refused"] == 1


def test_no_personal_data_in_the_report(known, staff, api_client_for):
    text = api_client_for(staff["officer"]).get(URL, {"from": _today(), "to": _today()}).content
    for line in known:
        assert line.number.encode() not in text
        assert line.number[3:].encode() not in text


def test_a_day_outside_the_period_counts_nothing(known, staff, api_client_for):
    day = (timezone.localdate() - dt.timedelta(days=40)).isoformat()
    report = api_client_for(staff["admin"]).get(URL, {"from": day, "to": day}).json()
    assert report["transactions"]["total"] == 1
    assert report["transactions"]["by_kind"]["landline_install"] == 1
    assert report["lines"]["opened"] == 0
    assert report["disclosures"]["requested"] == 0


def test_days_are_the_operators_own(alpha, staff, api_client_for, open_mobile):
    """A transaction at 23:30 UTC is on the next day in Shanghai (UTC+8)."""
    alpha.time_zone = "Asia/Shanghai"
    alpha.save(update_fields=["time_zone"])
    tx, _ = open_mobile()
    moment = dt.datetime(2026, 3, 9, 23, 30, tzinfo=dt.UTC)
    Transaction.objects.filter(pk=tx.pk).update(created_at=moment)
    client = api_client_for(staff["admin"])
    on_9 = client.get(URL, {"from": "2026-03-09", "to": "2026-03-09"}).json()
    on_10 = client.get(URL, {"from": "2026-03-10", "to": "2026-03-10"}).json()
    assert on_9["transactions"]["total"] == 0
    assert on_10["transactions"]["total"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01", "to": "2026-12-01"}, "from"),
        ({"from": "2026-01-01", "to": "yesterday"}, "to"),
        ({"to": "2026-01-01"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-31"}, "to"),
        ({"from": "2026-01-01\x00", "to": "2026-01-02"}, "from"),
        ({"from": "0001-01-01", "to": "9999-12-31"}, "from"),
    ],
)
def test_bad_dates_are_400_on_the_field(staff, api_client_for, query, field):
    response = api_client_for(staff["admin"]).get(URL, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_clerks_are_refused(alpha_clerk, api_client_for):
    response = api_client_for(alpha_clerk).get(URL, {"from": _today(), "to": _today()})
    assert response.status_code == 403


def test_another_operator_sees_only_its_own_figures(known, beta, make_staff, api_client_for):
    officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    report = api_client_for(officer).get(URL, {"from": _today(), "to": _today()}).json()
    assert report["operator"] == "beta"
    assert report["transactions"]["total"] == 0
    assert report["disclosures"]["requested"] == 0


def test_csv_holds_the_same_figures(known, staff, api_client_for):
    response = api_client_for(staff["officer"]).get(
        URL, {"from": _today(), "to": _today(), "format": "csv"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "value"]
    values = {(s, k): v for s, k, v in rows[1:]}
    assert values[("transactions.by_refusal_code", "cap_reached")] == "1"
    assert values[("transactions", "total")] == "5"
    assert values[("reverification", "restored")] == "1"
    assert values[("disclosures.by_authority_type.police", "requested")] == "2"


def test_csv_errors_stay_json(staff, api_client_for):
    response = api_client_for(staff["officer"]).get(URL, {"from": "x", "to": "y", "format": "csv"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "from" in response.json()["error"]["fields"]


def _queries(alpha) -> int:
    period = reports.Period.of(alpha, timezone.localdate(), timezone.localdate())
    with CaptureQueriesContext(connection) as captured:
        reports.registrations_report(operator=alpha, period=period)
    return len(captured)


def test_the_report_costs_the_same_queries_with_more_rows(
    alpha, known, open_mobile, django_assert_max_num_queries
):
    before = _queries(alpha)
    for _ in range(4):
        open_mobile()
    assert _queries(alpha) == before
    period = reports.Period.of(alpha, timezone.localdate(), timezone.localdate())
    with django_assert_max_num_queries(12):
        reports.registrations_report(operator=alpha, period=period)


def test_transparency_counts_by_authority_type(known, staff, api_client_for):
    year = timezone.localdate().year
    response = api_client_for(staff["admin"]).get(
        "/api/v1/reports/transparency/", {"year": str(year)}
    )
    assert response.status_code == 200
    data = response.json()
    assert (data["requested"], data["approved"], data["refused"], data["released"]) == (
        3,
        2,
        1,
        1,
    )
    assert data["by_authority_type"]["court"] == {
        "requested": 1,
        "approved": 0,
        "refused": 1,
        "released": 0,
    }
    last = api_client_for(staff["admin"]).get(
        "/api/v1/reports/transparency/", {"year": str(year - 1)}
    )
    assert last.json()["requested"] == 0


@pytest.mark.parametrize("year", ["20x6", "1", "99999", "١٢٣٤"])
def test_transparency_bad_year_is_400(staff, api_client_for, year):
    response = api_client_for(staff["admin"]).get("/api/v1/reports/transparency/", {"year": year})
    assert response.status_code == 400
    assert "year" in response.json()["error"]["fields"]


def test_transparency_is_refused_to_clerks(alpha_clerk, api_client_for):
    assert api_client_for(alpha_clerk).get("/api/v1/reports/transparency/").status_code == 403


# --- The console page --------------------------------------------------------------------

PAGE = "/console/reports/registrations/"


def test_the_console_page_shows_the_figures_and_offers_the_csv(known, staff):
    client = privileged_login(Client(), staff["admin"].user)
    response = client.get(PAGE, {"start": _today(), "end": _today()})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"Restored after expiry</th><td>1</td>", html)
    assert re.search(r"Rejected</th><td>2</td>", html)
    csv_file = client.get(PAGE, {"start": _today(), "end": _today(), "format": "csv"})
    assert csv_file["Content-Type"].startswith("text/csv")
    assert "transactions.by_refusal_code,cap_reached,1" in csv_file.content.decode()
    for line in known:
        assert line.number not in html


def test_the_console_page_refuses_bad_dates_beside_the_field(staff):
    client = privileged_login(Client(), staff["admin"].user)
    response = client.get(PAGE, {"start": "2026-02-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()


def test_the_console_page_is_refused_to_clerks(alpha_clerk):
    client = privileged_login(Client(), alpha_clerk.user)
    assert client.get(PAGE).status_code == 403


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_the_console_page_in_both_languages(alpha, known, staff, compiled_catalogue, language):  # noqa: F811
    Operator.objects.filter(pk=alpha.pk).update(default_language=language)
    client = privileged_login(Client(), staff["officer"].user)
    html = client.get(PAGE).content.decode()
    page = visible(html, language)
    assert page.html_lang == language
    if language == Language.EN:
        assert "Restored after expiry" in html
        return
    assert untranslated(html, compiled_catalogue) == []
    english = [
        chunk
        for chunk in page.chunks
        if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", re.sub(r"telereg|[A-Z][a-z]+/\w+", "", chunk))
    ]
    assert english == []
    assert "恢复" in html
