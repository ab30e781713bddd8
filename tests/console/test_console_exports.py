"""CSV exports of the console's masked lists (identity.exports): masked
values only, headers in the reader's language, formula cells neutralised,
streamed, logged before they leave, and only for whoever may see the list
(and never another operator's rows)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity import access_log, exports
from identity.models import AccessLogEntry, AccessPurpose
from operators.models import Language, Operator
from operators.roles import MATRIX, Role
from operators.selectors import undertaking_current
from operators.services import undertaking_accept
from registration.models import Transaction
from reverification import campaigns
from tests.conftest import privileged_login
from tests.factories import UserFactory, ensure_undertaking

pytestmark = pytest.mark.django_db

TRANSACTIONS = "console:registration_transaction_changelist"
LINES = "console:registration_line_changelist"
CAMPAIGNS = "console:reverification_campaign_changelist"
ACCESS_LOG = "console:identity_accesslogentry_changelist"


def export(client: Client, changelist: str, *, pks=(), query: str = "", across: bool = True):
    """POST the export action as the changelist's form does: "select all"
    sends the page's checkboxes too (Django asks for one), then ignores them."""
    selected = [str(pk) for pk in pks] or ["0"]
    data = {"action": "export_csv", "index": "0", "_selected_action": selected}
    if across:
        data["select_across"] = "1"
    return client.post(reverse(changelist) + query, data)


def rows_of(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response["Cache-Control"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def export_entries() -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.filter(purpose=AccessPurpose.EXPORT).order_by("pk"))


@pytest.fixture
def officer(alpha, make_staff):
    return make_staff(alpha, Role.COMPLIANCE_OFFICER)


@pytest.fixture
def two_lines(open_mobile):
    return [open_mobile(), open_mobile()]


# --- The cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_starting_like_a_formula_is_prefixed_with_a_quote(prefix):
    assert exports.csv_safe(f"{prefix}SUM(A1:A9)") == f"'{prefix}SUM(A1:A9)"


def test_ordinary_cells_are_left_as_they_are():
    assert exports.csv_safe("ALPHA-1") == "ALPHA-1"
    assert exports.csv_safe(None) == ""
    assert exports.csv_safe(3) == "3"
    assert exports.csv_safe(dt.date(2026, 12, 1)) == "2026-12-01"


# --- Transactions and lines ---------------------------------------------------------------------


def test_transactions_export_masked_values_only_and_logs_the_read(two_lines, officer):
    client = privileged_login(Client(), officer.user)
    response = export(client, TRANSACTIONS)
    rows = rows_of(response)
    assert rows[0][:3] == ["reference", "kind", "state"]
    body = "\n".join(",".join(row) for row in rows)
    assert len(rows) == 3
    for tx, identity in two_lines:
        assert tx.line.number not in body
        assert identity.name not in body
        assert identity.id_number not in body
        assert f"'{tx.line.number[:6]}****{tx.line.number[-4:]}" in body  # masked, quoted
        assert tx.reference in body
    assert "Mobile account opening" in body or "mobile_open" not in body
    [entry] = export_entries()
    assert entry.actor == officer.user
    assert entry.person is None
    assert entry.fields == []
    assert entry.detail == {"list": "transactions", "rows": 2, "masked": True}


def test_the_export_follows_the_changelists_filter(two_lines, officer):
    tx, _ = two_lines[0]
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, TRANSACTIONS, query=f"?q={tx.reference}"))
    assert [row[0] for row in rows[1:]] == [tx.reference]
    assert export_entries()[0].detail["rows"] == 1


def test_only_the_selected_rows_are_exported_without_select_all(two_lines, officer):
    tx, _ = two_lines[1]
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, TRANSACTIONS, pks=[tx.pk], across=False))
    assert [row[0] for row in rows[1:]] == [tx.reference]


def test_a_refusal_written_like_a_formula_cannot_run_in_a_spreadsheet(two_lines, officer):
    tx, _ = two_lines[0]
    Transaction.objects.filter(pk=tx.pk).update(refusal_message='=HYPERLINK("http://x","y")')
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, TRANSACTIONS, query=f"?q={tx.reference}"))
    assert rows[1][-1] == '\'=HYPERLINK("http://x","y")'


def test_lines_export_masks_numbers_and_holders_and_labels_codes(two_lines, officer):
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, LINES))
    assert rows[0][0] == "number (masked)"
    body = "\n".join(",".join(row) for row in rows)
    for tx, identity in two_lines:
        assert tx.line.number not in body
        assert identity.name not in body
    assert {row[1] for row in rows[1:]} == {"Mobile"}
    assert {row[2] for row in rows[1:]} == {"Active"}
    assert export_entries()[0].detail == {"list": "lines", "rows": 2, "masked": True}


def test_headers_and_labels_are_in_the_readers_language(two_lines, officer, alpha):
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.ZH_HANS)
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, LINES))
    assert rows[0][0] == "号码（已脱敏）"
    assert {row[2] for row in rows[1:]} == {"正常"}
    assert "Active" not in ",".join(rows[1])


def test_another_operators_rows_are_never_exported(two_lines, officer, beta, make_staff):
    beta_officer = make_staff(beta, Role.COMPLIANCE_OFFICER)
    client = privileged_login(Client(), beta_officer.user)
    alpha_pks = [tx.pk for tx, _ in two_lines]
    response = export(client, TRANSACTIONS, pks=alpha_pks, across=False)
    assert rows_of(response)[1:] == []
    rows = rows_of(export(client, TRANSACTIONS))
    assert rows[1:] == []
    # The attempt is still a logged export, of nothing, on beta's own chain.
    assert [(e.operator_id, e.detail["rows"]) for e in export_entries()] == [
        (beta.pk, 0),
        (beta.pk, 0),
    ]


def test_a_platform_admins_export_is_logged_on_each_operators_chain(
    two_lines, beta, beta_store, make_staff
):
    beta_clerk = make_staff(beta, Role.CLERK, store=beta_store)
    Transaction.objects.create(
        reference="BETA-1",
        kind="mobile_open",
        state="rejected",
        operator=beta,
        store=beta_store,
        staff=beta_clerk.user,
        line_kind="mobile",
    )
    root = UserFactory(is_superuser=True, is_staff=True)
    ensure_undertaking()
    undertaking_accept(user=root, undertaking=undertaking_current())
    client = privileged_login(Client(), root)
    rows = rows_of(export(client, TRANSACTIONS))
    assert len(rows) == 4
    entries = sorted((e.operator.code, e.detail["rows"]) for e in export_entries())
    assert entries == [("alpha", 2), ("beta", 1)]


# --- Campaign requests and the access log ---------------------------------------------------------


def test_campaign_requests_export_from_the_campaigns_selected(two_lines, officer, alpha):
    campaign = campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="=cmd|' /C calc'!A0",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    campaigns.campaign_launch(campaign=campaign, actor=officer.user)
    campaigns.campaign_plan(campaign=campaign)
    client = privileged_login(Client(), officer.user)
    rows = rows_of(export(client, CAMPAIGNS, pks=[campaign.pk], across=False))
    assert rows[0][:3] == ["campaign", "number (masked)", "request state"]
    assert len(rows) == 3
    assert {row[0] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    assert {row[2] for row in rows[1:]} == {"Waiting for the subscriber"}
    body = "\n".join(",".join(row) for row in rows)
    for tx, _ in two_lines:
        assert tx.line.number not in body
    assert export_entries()[0].detail == {"list": "campaign-requests", "rows": 2, "masked": True}


def test_the_access_log_exports_for_compliance_and_logs_itself(two_lines, officer):
    client = privileged_login(Client(), officer.user)
    before = AccessLogEntry.objects.count()
    rows = rows_of(export(client, ACCESS_LOG))
    assert rows[0][:3] == ["created at", "actor", "purpose"]
    # The export is logged before it is read: it lists itself first (newest first).
    assert len(rows) == 1 + before + 1
    assert rows[1][1:3] == [officer.user.get_username(), "Export of a masked list (CSV)"]
    assert AccessLogEntry.objects.count() == before + 1
    body = "\n".join(",".join(row) for row in rows)
    for _, identity in two_lines:
        assert identity.name not in body
        assert identity.id_number not in body


# --- Who may export -------------------------------------------------------------------------------


def test_a_clerk_cannot_reach_an_export(two_lines, alpha_clerk):
    client = privileged_login(Client(), alpha_clerk.user)
    assert export(client, TRANSACTIONS).status_code == 403
    assert export_entries() == []


def test_an_operator_admin_cannot_export_the_access_log(two_lines, alpha, make_staff):
    client = privileged_login(Client(), make_staff(alpha, Role.OPERATOR_ADMIN).user)
    assert export(client, ACCESS_LOG).status_code == 403
    assert export_entries() == []


def test_without_the_export_permission_the_action_is_neither_offered_nor_run(
    two_lines, officer, monkeypatch
):
    monkeypatch.setitem(MATRIX, "console.export", frozenset())
    client = privileged_login(Client(), officer.user)
    page = client.get(reverse(TRANSACTIONS)).content.decode()
    assert 'value="export_csv"' not in page
    response = export(client, TRANSACTIONS)
    assert not isinstance(response, StreamingHttpResponse)
    assert export_entries() == []


def test_the_action_is_offered_on_each_exported_list(two_lines, officer, alpha):
    campaigns.campaign_create(
        operator=alpha,
        data=campaigns.CampaignInput(
            name="Draft",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=10),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    client = privileged_login(Client(), officer.user)
    for changelist in (TRANSACTIONS, LINES, CAMPAIGNS, ACCESS_LOG):
        assert 'value="export_csv"' in client.get(reverse(changelist)).content.decode(), changelist


def test_the_access_log_names_fields_by_their_labels_in_the_list_and_the_file(
    alpha, officer, alpha_clerk
):
    access_log.append(
        operator=alpha,
        actor=alpha_clerk.user,
        purpose=AccessPurpose.COMPLIANCE_REVIEW,
        fields=["name", "id_number"],
        reason="Dispute 2026-88",
    )
    client = privileged_login(Client(), officer.user)
    page = client.get(reverse(ACCESS_LOG)).content.decode()
    assert "Document number, Full name" in page
    assert "id_number" not in page
    rows = rows_of(export(client, ACCESS_LOG))
    assert rows[2][4] == "Document number, Full name"
