"""The console home (operators.console_home): what needs someone, as counts
that link to their filtered lists, for the staff member's operator only,
refreshed by a JSON twin that clerks cannot reach."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity import access_log
from identity.models import AccessLogVerification, CorrectionRequest, LookupAlert
from operators.roles import Role
from registration.models import Transaction, TransactionState
from reverification import campaigns
from reverification.models import Campaign, Delivery, DeliveryState, Dispute, RequestState
from tests.conftest import privileged_login
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

HOME = "/console/"
COUNTS = "/console/home/counts.json"


def _pending_transaction(operator, staff, reference: str) -> Transaction:
    store = staff.store or StoreFactory(operator=operator)
    return Transaction.objects.create(
        reference=reference,
        kind="mobile_open",
        state=TransactionState.PENDING_VERIFICATION,
        operator=operator,
        store=store,
        staff=staff.user,
        line_kind="mobile",
    )


def _running_campaign(operator, officer, name: str) -> Campaign:
    campaign = campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name=name,
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7, 2],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    return Campaign.objects.get(pk=campaign.pk)


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def busy_alpha(alpha, officer, alpha_clerk, open_mobile, register, make_identity):
    """alpha with one of each thing that needs someone: a pending correction,
    an open dispute, a waiting transaction, an unacknowledged look-up burst
    and a running campaign over two lines (one notified, one verified)."""
    tx, _ = open_mobile()
    open_mobile()
    person = tx.line.holder
    CorrectionRequest.objects.create(person=person, proposed={}, requested_by=officer.user)
    Dispute.objects.create(operator=alpha, line=tx.line, person=person)
    _pending_transaction(alpha, alpha_clerk, "ALPHA-WAIT-1")
    now = timezone.now()
    LookupAlert.objects.create(
        operator=alpha,
        staff=alpha_clerk.user,
        count=31,
        window_start=now - dt.timedelta(hours=1),
        window_end=now,
    )
    campaign = _running_campaign(alpha, officer, "Spring check")
    first, second = campaign.requests.order_by("pk")
    Delivery.objects.create(
        request=first,
        operator=alpha,
        kind="notice",
        channel="file",
        state=DeliveryState.SENT,
        created_at=now,
        sent_at=now,
    )
    campaign.requests.filter(pk=second.pk).update(state=RequestState.VERIFIED, verified_at=now)
    return campaign


@pytest.fixture
def busy_beta(beta, make_staff, beta_store):
    """beta with waiting transactions and a look-up burst of its own."""
    clerk = make_staff(beta, Role.CLERK, store=beta_store)
    for n in range(3):
        _pending_transaction(beta, clerk, f"BETA-WAIT-{n}")
    now = timezone.now()
    LookupAlert.objects.create(
        operator=beta, staff=clerk.user, count=50, window_start=now, window_end=now
    )
    return beta


def _counts(client: Client) -> dict:
    response = client.get(COUNTS)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.json()


def test_home_counts_what_needs_the_compliance_officer_and_links_to_filtered_lists(
    busy_alpha, busy_beta, officer
):
    client = privileged_login(Client(), officer.user)
    page = client.get(HOME)
    assert page.status_code == 200
    home = page.context["home"]
    by_key = {c.key: c for c in home.counts}
    assert by_key["corrections_pending"].value == 1
    assert by_key["disputes_open"].value == 1
    assert by_key["verifications_pending"].value == 1  # beta's three are not alpha's
    assert by_key["lookup_bursts"].value == 1
    assert by_key["verifications_pending"].url == (
        reverse("console:registration_transaction_changelist")
        + "?state__exact=pending_verification"
    )
    assert by_key["disputes_open"].url.endswith("?state__exact=open")
    assert by_key["corrections_pending"].url.endswith("?status__exact=pending")
    assert by_key["lookup_bursts"].url.endswith("?acknowledged_at__isempty=1")
    [panel] = [p for p in home.panels if p.key == "campaigns_under_way"]
    assert panel.rows == [
        {
            "id": busy_alpha.pk,
            "name": "Spring check",
            "state": "Running",
            "planned": 2,
            "sent": 1,
            "verified": 1,
        }
    ]
    html = page.content.decode()
    for count in home.counts:
        assert f'href="{count.url.replace("&", "&amp;")}"' in html
    # Each link opens its list, filtered as the count says.
    listed = client.get(by_key["verifications_pending"].url)
    assert listed.status_code == 200
    assert [t.reference for t in listed.context["cl"].result_list] == ["ALPHA-WAIT-1"]


def test_another_operators_counts_are_never_shown(busy_alpha, busy_beta, beta, make_staff):
    beta_officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    client = privileged_login(Client(), beta_officer.user)
    data = _counts(client)
    assert data["counts"]["verifications_pending"] == 3
    assert data["counts"]["corrections_pending"] == 0
    assert data["counts"]["disputes_open"] == 0
    assert data["counts"]["lookup_bursts"] == 1
    assert data["panels"]["campaigns_under_way"] == []
    assert "Spring check" not in client.get(HOME).content.decode()


def test_an_operator_admin_sees_only_what_their_role_may_open(busy_alpha, alpha, make_staff):
    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    data = _counts(privileged_login(Client(), admin.user))
    # Corrections, disputes, look-up bursts and campaigns are the compliance officer's.
    assert set(data["counts"]) == {"verifications_pending"}
    assert data["panels"] == {}


def test_the_json_twin_matches_the_page_and_carries_no_personal_data(
    busy_alpha, officer, make_identity
):
    client = privileged_login(Client(), officer.user)
    data = _counts(client)
    home = client.get(HOME).context["home"]
    assert data["counts"] == {c.key: c.value for c in home.counts}
    body = client.get(COUNTS).content.decode()
    assert "+86" not in body
    person = CorrectionRequest.objects.get().person
    assert str(person.uid) not in body
    assert re.search(r"\d{11}", body) is None


def test_a_clerk_cannot_reach_the_console_home_or_its_counts(busy_alpha, alpha_clerk):
    client = privileged_login(Client(), alpha_clerk.user)
    assert client.get(HOME).status_code == 403
    assert client.get(COUNTS).status_code == 403


def test_someone_signed_out_is_sent_to_sign_in_from_the_counts(db):
    response = Client().get(COUNTS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_an_officer_whose_second_factor_is_pending_gets_no_counts(busy_alpha, officer):
    client = Client()
    client.force_login(officer.user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(COUNTS).status_code in (302, 403)


def test_the_counts_are_aggregate_queries_however_many_rows(
    busy_alpha, officer, alpha_clerk, django_assert_max_num_queries
):
    client = privileged_login(Client(), officer.user)
    client.get(COUNTS)  # warm the session and the staff profile
    # One query per count or panel: issue 14 added the open portrait reviews
    # and the portraits per store and clerk.
    with django_assert_max_num_queries(16) as few:
        client.get(COUNTS)
    for n in range(30):
        _pending_transaction(busy_alpha.operator, alpha_clerk, f"MORE-{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert _counts(client)["counts"]["verifications_pending"] == 31


def test_the_page_refreshes_through_its_own_script_and_works_without_it(busy_alpha, officer):
    html = privileged_login(Client(), officer.user).get(HOME).content.decode()
    assert '<script src="/static/js/console.js" defer></script>' in html
    assert 'data-counts-url="/console/home/counts.json"' in html
    assert re.search(r"<script>|<script [^>]*>[^<]+</script>", html) is None
    assert " onclick=" not in html
    assert " style=" not in html
    # Without the script the counts are in the page itself.
    assert 'data-count-key="disputes_open"' in html


def test_the_last_access_log_check_is_shown_for_the_readers_operator_only(
    officer, alpha, beta, make_staff
):
    client = privileged_login(Client(), officer.user)
    assert _counts(client)["notes"]["access_log_verification"] == (
        "Never checked: run verify_access_log."
    )
    call_command("verify_access_log", verbosity=0)
    run = AccessLogVerification.objects.get()
    assert run.problems == 0
    assert run.checkpoint.startswith("cp-")
    data = _counts(client)
    assert data["counts"]["access_log_verification"] == 0
    assert data["notes"]["access_log_verification"].endswith(": intact.")
    # A later run found beta's chain broken: alpha's officer is not told beta's trouble.
    AccessLogVerification.objects.create(
        ran_at=timezone.now(), problems=1, broken_operator_ids=[beta.pk]
    )
    assert _counts(client)["counts"]["access_log_verification"] == 0
    beta_officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    beta_data = _counts(privileged_login(Client(), beta_officer.user))
    assert beta_data["counts"]["access_log_verification"] == 1
    assert "broken" in beta_data["notes"]["access_log_verification"]


def test_each_verify_run_is_recorded_with_the_operators_whose_chains_broke(alpha, beta):
    report = access_log.VerifyReport(
        breaks=[
            access_log.ChainBreak(f"{beta.pk}:2026-12-01", 7, 3, "content differs"),
            access_log.ChainBreak(access_log.CHECKPOINTS, None, 0, "bad signature"),
        ],
        heads={f"{alpha.pk}:2026-12-01": (1, "0" * 64)},
        entries=9,
        checkpoints=2,
    )
    run = access_log.verification_record(report=report, checkpoint="cp-x.json")
    assert (run.problems, run.entries, run.chains) == (2, 9, 1)
    assert run.broken_operator_ids == [beta.pk]
    assert run.checkpoints_broken is True
