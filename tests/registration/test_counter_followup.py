"""The counter after the wizard (issue 12): the receipt (store, parties,
services, signature line, notice short hash, QR code), its public check, the
transactions list's filters and pages, the line's history and services, and
correction requests filed from the store. Attackers included: other stores'
and operators' rows answer 404, forged tokens are "not genuine", garbage input
is refused beside its field, never a 500."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
import segno
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity import services as identity_services
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.masking import mask_name
from identity.models import CorrectionRequest, CorrectionStatus, Person
from operators.roles import Role
from registration import receipts
from registration.models import Transaction, TransactionKind, TransactionState
from tests.conftest import privileged_login

pytestmark = pytest.mark.django_db


# --- Helpers ----------------------------------------------------------------------------------


def clerk_client(staff) -> Client:
    return privileged_login(Client(), staff.user)


def receipt_page(client: Client, tx: Transaction):
    return client.get(reverse("registration:receipt", kwargs={"uid": tx.uid}))


def check_path(tx: Transaction) -> str:
    return receipts.receipt_check_url(tx).removeprefix("http://127.0.0.1:8000")


def assert_no_clear_identity(content: str, *identities) -> None:
    for identity in identities:
        assert identity.name not in content
        assert identity.id_number not in content


def rejected_rows(clerk, count: int, *, kind=TransactionKind.MOBILE_OPEN, prefix="ZZ") -> list:
    """Refused transactions of the clerk's store (they hold no personal data):
    rows enough to page through without walking the wizard each time."""
    return Transaction.objects.bulk_create(
        Transaction(
            reference=f"{prefix}-{n:04d}",
            kind=kind,
            state=TransactionState.REJECTED,
            operator=clerk.operator,
            store=clerk.store,
            staff=clerk.user,
            line_kind="mobile",
            refusal_code="cap_reached",
        )
        for n in range(count)
    )


@pytest.fixture
def transfer(submit, open_mobile, citizen):
    """A completed mobile transfer: (tx, current holder, new holder)."""
    opened, holder = open_mobile()
    new_holder = citizen()
    tx = submit("mobile_transfer", holder=holder, new_holder=new_holder, line=opened.line.number)
    assert tx.state == TransactionState.COMPLETED
    return tx, holder, new_holder


# --- The receipt --------------------------------------------------------------------------


def test_receipt_names_the_store_and_its_address_the_services_and_the_notice_short_hash(
    alpha_clerk, submit, open_mobile, catalog
):
    opened, identity = open_mobile()
    submit("service_add", applicant=identity, line=opened.line.number, service="call_forwarding")
    tx = submit("service_add", applicant=identity, line=opened.line.number, service="intl_roaming")
    response = receipt_page(clerk_client(alpha_clerk), tx)
    content = response.content.decode()
    assert response.status_code == 200
    assert alpha_clerk.store.name in content
    assert f'id="store-address">{alpha_clerk.store.address}<' in content
    services = re.search(r'id="services">(.*?)</dd>', content, re.S).group(1)
    assert "International roaming" in services
    assert "Call forwarding" in services  # already active on the line
    assert "added by this transaction" in services
    assert f'title="{tx.notice_hash}">{tx.notice_hash[:12]}</span>' in content
    assert 'id="signature"' in content
    assert "Subscriber&#x27;s signature" in content or "Subscriber's signature" in content
    assert_no_clear_identity(content, identity)


def test_transfer_receipt_shows_both_parties_masked(alpha_clerk, transfer):
    tx, holder, new_holder = transfer
    content = receipt_page(clerk_client(alpha_clerk), tx).content.decode()
    old = re.search(r'id="transfer-holder" class="party">(.*?)</dd>', content).group(1)
    new = re.search(r'id="new-holder" class="party">(.*?)</dd>', content).group(1)
    assert old.startswith(holder.name[0])
    assert "*" in old
    assert new.startswith(new_holder.name[0])
    assert "*" in new
    assert holder.id_number[-4:] in old
    assert new_holder.id_number[-4:] in new
    assert "Previous holder" in content
    assert "New holder" in content
    assert_no_clear_identity(content, holder, new_holder)


class _AuthorityDown:
    name = "test-down"

    def verify(self, identity):
        return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)


def test_a_waiting_transfers_receipt_shows_both_parties_as_typed_masked(
    alpha_clerk, submit, open_mobile, citizen, monkeypatch
):
    from identity import authority

    opened, holder = open_mobile()
    new_holder = citizen()
    monkeypatch.setattr(authority, "get_backend", lambda: _AuthorityDown())
    typed_holder = dataclasses.replace(holder, name="乙" + holder.name)
    tx = submit("mobile_transfer", holder=typed_holder, new_holder=new_holder, line=opened.number)
    assert tx.state == TransactionState.PENDING_VERIFICATION
    content = receipt_page(clerk_client(alpha_clerk), tx).content.decode()
    old = re.search(r'id="transfer-holder" class="party">(.*?)</dd>', content).group(1)
    new = re.search(r'id="new-holder" class="party">(.*?)</dd>', content).group(1)
    assert old.startswith(mask_name(typed_holder.name))  # what was typed, not the file
    assert new.startswith(mask_name(new_holder.name))
    assert "Current holder" in content  # not done yet: still the holder
    assert_no_clear_identity(content, typed_holder, new_holder)


def test_receipt_qr_code_is_inline_svg_of_the_check_url_without_style_or_script(
    alpha_clerk, open_mobile
):
    tx, identity = open_mobile()
    content = receipt_page(clerk_client(alpha_clerk), tx).content.decode()
    svg = re.search(r"<svg .*?</svg>", content, re.S).group(0)
    url = receipts.receipt_check_url(tx)
    expected = segno.make(url, error="m").svg_inline(scale=3, border=2, lineclass=None)
    # The same modules as the code of the URL (the path data is the matrix).
    assert re.search(r' d="([^"]+)"', svg).group(1) == re.search(r' d="([^"]+)"', expected).group(1)
    assert "style" not in svg
    assert "<script" not in svg
    assert tx.reference in url
    assert str(tx.uid) not in url  # the token signs the uid; only its hex, never a name
    assert identity.id_number not in url
    assert identity.name not in url
    assert f'id="check-url">{url}<' in content


def test_a_rejected_transactions_receipt_names_nobody_and_offers_no_correction(alpha_clerk):
    (tx,) = rejected_rows(alpha_clerk, 1)
    content = receipt_page(clerk_client(alpha_clerk), tx).content.decode()
    assert 'class="party"' not in content
    assert 'id="signature"' not in content
    assert 'id="correction-link"' not in content


# --- The public check ----------------------------------------------------------------------


def test_the_receipt_check_says_genuine_with_masked_data_only_and_is_not_cached_or_indexed(
    open_mobile,
):
    tx, identity = open_mobile()
    response = Client().get(check_path(tx), HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="genuine"' in content
    assert f'id="reference">{tx.reference}<' in content
    assert "Mobile account opening" in content
    assert tx.store.name in content
    assert f'id="number">138 **** {tx.number[-4:]}<' in content
    holder = re.search(r'id="holder">(.*?)<', content).group(1)
    assert holder.startswith(identity.name[0])
    assert set(holder[1:]) == {"*"}
    assert 'id="state">Completed<' in content
    assert tx.number not in content
    assert_no_clear_identity(content, identity)
    assert identity.id_number[-4:] not in content  # not even the masked document number
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in content


def test_the_receipt_check_shows_todays_state_of_the_transaction(open_mobile):
    tx, _ = open_mobile()
    Transaction.objects.filter(pk=tx.pk).update(state=TransactionState.CANCELLED)
    content = Client().get(check_path(tx), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="state">Cancelled<' in content


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), id="tampered"),
        pytest.param(lambda token: "0" * 32 + token[32:], id="another-uid-same-signature"),
        pytest.param(
            lambda token: signing.Signer(salt="another.purpose").sign(token.partition(":")[0]),
            id="signed-for-another-purpose",
        ),
        pytest.param(lambda token: signing.dumps(token.partition(":")[0]), id="dumps-default-salt"),
        pytest.param(lambda token: token.partition(":")[0], id="unsigned"),
        pytest.param(lambda token: "x" * 500, id="oversized"),
        pytest.param(lambda token: "not-a-token", id="garbage"),
    ],
)
def test_a_forged_or_tampered_token_is_not_genuine_and_never_a_500(open_mobile, forge):
    tx, identity = open_mobile()
    token = receipts.receipt_token(tx)
    path = f"/receipt-check/{tx.reference}/{forge(token)}/"
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    content = response.content.decode()
    assert response.status_code == 404
    assert 'id="not-genuine"' in content
    assert 'id="reference"' not in content  # no fact of the receipt is shown
    assert 'id="genuine"' not in content
    assert_no_clear_identity(content, identity)


def test_a_valid_token_under_another_receipts_reference_is_not_genuine(open_mobile):
    first, _ = open_mobile()
    second, _ = open_mobile()
    path = f"/receipt-check/{second.reference}/{receipts.receipt_token(first)}/"
    response = Client().get(path)
    assert response.status_code == 404
    assert 'id="not-genuine"' in response.content.decode()


def test_a_token_for_a_transaction_that_does_not_exist_is_not_genuine(open_mobile):
    tx, _ = open_mobile()
    path = check_path(tx)
    Transaction.objects.filter(pk=tx.pk).update(uid="00000000-0000-4000-8000-000000000000")
    assert Client().get(path).status_code == 404


def test_receipt_checks_are_throttled_per_client_address(open_mobile, settings):
    settings.TELEREG_RECEIPT_CHECK_LIMIT = 2
    tx, _ = open_mobile()
    path = check_path(tx)
    client = Client(REMOTE_ADDR="198.51.100.7")
    assert client.get(path).status_code == 200
    assert client.get(path.replace(tx.reference, "NOPE")).status_code == 404
    third = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert third.status_code == 429
    assert 'id="throttled"' in third.content.decode()
    assert 'id="genuine"' not in third.content.decode()
    assert Client(REMOTE_ADDR="198.51.100.8").get(path).status_code == 200


def test_the_receipt_check_takes_no_post(open_mobile):
    tx, _ = open_mobile()
    assert Client().post(check_path(tx)).status_code == 405


# --- The transactions list ---------------------------------------------------------------------


def list_page(client: Client, **query):
    return client.get(reverse("registration:transactions"), query)


def listed(response) -> set[str]:
    return {tx.reference for tx in response.context["page"].object_list}


def test_the_list_pages_through_every_transaction_of_the_store(alpha_clerk):
    rejected_rows(alpha_clerk, 30)
    client = clerk_client(alpha_clerk)
    first = list_page(client)
    assert first.status_code == 200
    assert len(listed(first)) == 25
    second = list_page(client, page="2")
    assert len(listed(second)) == 5
    assert listed(first).isdisjoint(listed(second))
    assert 'rel="prev"' in second.content.decode()
    assert 'id="tx-filter-clear"' not in second.content.decode()  # a page is not a filter
    filtered = list_page(client, reference="ZZ").content.decode()
    assert 'href="?reference=ZZ&amp;page=2"' in filtered  # the next page keeps the filter


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "9" * 400])
def test_pages_out_of_bounds_show_the_nearest_page_not_an_error(alpha_clerk, page):
    rejected_rows(alpha_clerk, 30)
    response = list_page(clerk_client(alpha_clerk), page=page)
    assert response.status_code == 200
    assert response.context["page"].number in (1, 2)


def test_the_list_filters_by_kind_state_date_range_and_reference(alpha_clerk, open_mobile):
    opened, _ = open_mobile()
    rejected_rows(alpha_clerk, 3, prefix="CAP")
    rejected_rows(alpha_clerk, 2, kind=TransactionKind.SERVICE_ADD, prefix="SVC")
    old = rejected_rows(alpha_clerk, 1, prefix="OLD")[0]
    long_ago = timezone.now() - dt.timedelta(days=40)
    Transaction.objects.filter(pk=old.pk).update(created_at=long_ago)
    client = clerk_client(alpha_clerk)

    by_kind = listed(list_page(client, kind="service_add"))
    assert by_kind == {"SVC-0000", "SVC-0001"}
    by_state = listed(list_page(client, state="completed"))
    assert by_state == {opened.reference}
    today = timezone.localdate()
    recent = listed(list_page(client, date_from=(today - dt.timedelta(days=7)).isoformat()))
    assert "OLD-0000" not in recent
    assert opened.reference in recent
    window = listed(
        list_page(
            client,
            date_from=(today - dt.timedelta(days=41)).isoformat(),
            date_to=(today - dt.timedelta(days=39)).isoformat(),
        )
    )
    assert window == {"OLD-0000"}
    assert listed(list_page(client, reference="cap-000")) == {"CAP-0000", "CAP-0001", "CAP-0002"}
    none = list_page(client, reference="NO-SUCH")
    assert listed(none) == set()
    assert 'id="tx-none"' in none.content.decode()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-02-30"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"reference": "R" * 33}, "reference"),
        ({"kind": "mobile_open'; DROP TABLE"}, "kind"),
        ({"state": "active"}, "state"),
    ],
)
def test_bad_filters_are_shown_beside_their_field_and_filter_nothing(alpha_clerk, query, field):
    rejected_rows(alpha_clerk, 2)
    response = list_page(clerk_client(alpha_clerk), **query)
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.content.decode()
    assert len(listed(response)) == 2  # the list stays, unfiltered


def test_another_stores_transaction_is_not_found_even_by_its_reference(
    alpha, alpha_clerk, make_staff
):
    other = make_staff(alpha, Role.CLERK)  # a store of its own
    rejected_rows(other, 1, prefix="OTH")
    rejected_rows(alpha_clerk, 1, prefix="OWN")
    client = clerk_client(alpha_clerk)
    assert listed(list_page(client, reference="OTH")) == set()
    assert listed(list_page(client)) == {"OWN-0000"}


def test_another_operators_transaction_is_not_listed(alpha_clerk, beta, make_staff):
    rejected_rows(make_staff(beta, Role.CLERK), 1, prefix="BET")
    officer = make_staff(alpha_clerk.operator, Role.COMPLIANCE_OFFICER)
    assert listed(list_page(clerk_client(officer), reference="BET")) == set()


def test_every_table_cell_carries_its_columns_label_for_a_phone(alpha_clerk):
    rejected_rows(alpha_clerk, 2)
    content = list_page(clerk_client(alpha_clerk)).content.decode()
    table = content.split('id="list"')[1]
    cells = re.findall(r"<td[^>]*>", table)
    assert cells
    assert all('data-label="' in cell for cell in cells)
    assert '<td data-label="Reference">' in table


def test_the_stylesheet_shows_the_labels_on_a_phone():
    from django.contrib.staticfiles import finders

    css = open(finders.find("css/telereg.css"), encoding="utf-8").read()  # noqa: PTH123
    block = css[css.index("@media (max-width: 600px)") :]
    assert "content: attr(data-label)" in block
    assert ".table.labelled thead { display: none; }" in block


# --- The line look-up -------------------------------------------------------------------------


def lookup(client: Client, number: str):
    return client.post(reverse("registration:lines"), {"number": number})


def test_the_line_shows_its_history_and_active_services(alpha_clerk, submit, open_mobile, catalog):
    opened, identity = open_mobile()
    added = submit(
        "service_add", applicant=identity, line=opened.line.number, service="intl_roaming"
    )
    response = lookup(clerk_client(alpha_clerk), opened.line.number)
    assert response.status_code == 200
    (item,) = response.context["found"]
    assert [row["reference"] for row in item["history"]] == [added.reference, opened.reference]
    assert [str(row["kind_label"]) for row in item["history"]] == [
        "Added service item",
        "Mobile account opening",
    ]
    content = response.content.decode()
    assert 'class="services">International roaming<' in content
    history = content.split("line-history")[1]
    assert "Added service item" in history
    assert alpha_clerk.store.code in history
    assert "Completed" in history
    assert_no_clear_identity(content, identity)


def test_another_stores_transactions_on_the_line_show_no_reference_or_link(
    alpha, open_mobile, make_staff
):
    opened, _ = open_mobile()
    elsewhere = make_staff(alpha, Role.CLERK)  # same operator, another store
    response = lookup(clerk_client(elsewhere), opened.line.number)
    (item,) = response.context["found"]
    (row,) = item["history"]
    assert row["uid"] is None
    assert row["reference"] == ""
    content = response.content.decode()
    assert opened.reference not in content
    assert str(opened.uid) not in content


def test_a_line_without_services_says_none(alpha_clerk, open_mobile):
    opened, _ = open_mobile()
    content = lookup(clerk_client(alpha_clerk), opened.line.number).content.decode()
    assert 'class="services">None.<' in content


# --- Corrections from the store ---------------------------------------------------------------


def correction_url(line) -> str:
    return reverse("registration:correction-line", kwargs={"uid": line.uid})


def test_a_clerk_files_a_correction_for_the_holder_of_a_line(alpha_clerk, open_mobile):
    opened, identity = open_mobile()
    client = clerk_client(alpha_clerk)
    page = client.get(correction_url(opened.line))
    assert page.status_code == 200
    assert_no_clear_identity(page.content.decode(), identity)
    response = client.post(
        correction_url(opened.line),
        {"field": "address", "value": "北京市海淀区样例街9号", "note": "moved, new ID card shown"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:lines")
    correction = CorrectionRequest.objects.get()
    assert correction.person == opened.line.holder
    assert correction.status == CorrectionStatus.PENDING
    assert correction.requested_by == alpha_clerk.user
    assert correction.request_note == "moved, new ID card shown"
    assert list(correction.proposed) == ["address"]
    assert "样例街9号" not in str(correction.proposed)  # encrypted
    follow = client.get(reverse("registration:lines"))
    assert "Correction request" in follow.content.decode()


def test_the_compliance_officer_decides_a_correction_filed_in_store(
    alpha_clerk, alpha_compliance, open_mobile
):
    opened, identity = open_mobile()
    new_name = identity.name[:-1] + ("明" if identity.name[-1] != "明" else "华")
    clerk_client(alpha_clerk).post(
        correction_url(opened.line), {"field": "name", "value": new_name, "note": ""}
    )
    correction = CorrectionRequest.objects.get()
    person = Person.objects.get(pk=opened.line.holder_id)
    assert identity_services.person_reveal(
        person=person, actor=alpha_compliance.user, reason="check before", fields=["name"]
    ) == {"name": identity.name}
    identity_services.correction_decide(
        correction=correction, approve=True, actor=alpha_compliance.user
    )
    person.refresh_from_db()
    assert identity_services.person_reveal(
        person=person, actor=alpha_compliance.user, reason="check after", fields=["name"]
    ) == {"name": new_name}


def test_a_correction_from_the_receipt_is_for_its_party(alpha_clerk, transfer):
    tx, holder, new_holder = transfer
    client = clerk_client(alpha_clerk)
    assert 'id="correction-link"' in receipt_page(client, tx).content.decode()
    url = reverse("registration:correction-transaction", kwargs={"uid": tx.uid})
    response = client.post(url, {"field": "address", "value": "上海市徐汇区样例路1号"})
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:receipt", kwargs={"uid": tx.uid})
    assert CorrectionRequest.objects.get().person == tx.new_holder


@pytest.mark.parametrize("field", ["id_number", "id_type", "verification_status", "language"])
def test_a_field_that_cannot_be_corrected_is_refused_beside_the_field(
    alpha_clerk, open_mobile, field
):
    opened, _ = open_mobile()
    response = clerk_client(alpha_clerk).post(
        correction_url(opened.line), {"field": field, "value": "110101199001011237"}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert 'id="error-field"' in content
    assert "This field cannot be corrected." in content
    assert not CorrectionRequest.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "1990-02-30"),
        ("date_of_birth", "not a date"),
        ("sex", "X"),
        ("address", "A" * 301),
        ("name", ""),
    ],
)
def test_a_bad_value_is_refused_beside_the_value_and_nothing_is_stored(
    alpha_clerk, open_mobile, field, value
):
    opened, _ = open_mobile()
    response = clerk_client(alpha_clerk).post(
        correction_url(opened.line), {"field": field, "value": value}
    )
    assert response.status_code == 400
    assert 'id="error-value"' in response.content.decode()
    assert not CorrectionRequest.objects.exists()


def test_another_operators_line_or_receipt_cannot_be_corrected(open_mobile, beta, make_staff):
    opened, _ = open_mobile()
    client = clerk_client(make_staff(beta, Role.CLERK))
    assert client.get(correction_url(opened.line)).status_code == 404
    assert (
        client.post(correction_url(opened.line), {"field": "name", "value": "X"}).status_code == 404
    )
    url = reverse("registration:correction-transaction", kwargs={"uid": opened.uid})
    assert client.post(url, {"field": "name", "value": "X"}).status_code == 404
    assert not CorrectionRequest.objects.exists()


def test_another_stores_receipt_cannot_be_corrected_from(alpha, open_mobile, make_staff):
    opened, _ = open_mobile()
    client = clerk_client(make_staff(alpha, Role.CLERK))  # another store
    url = reverse("registration:correction-transaction", kwargs={"uid": opened.uid})
    assert client.get(url).status_code == 404
    assert not CorrectionRequest.objects.exists()


def test_staff_without_the_correction_permission_get_403(alpha, open_mobile, make_staff):
    opened, _ = open_mobile()
    admin = make_staff(alpha, Role.OPERATOR_ADMIN)
    client = clerk_client(admin)
    assert client.get(correction_url(opened.line)).status_code == 403
    response = client.post(correction_url(opened.line), {"field": "name", "value": "X"})
    assert response.status_code == 403
    content = lookup(client, opened.line.number).content.decode()
    assert "correction-link" not in content
    assert not CorrectionRequest.objects.exists()


def test_a_rejected_transaction_offers_no_correction(alpha_clerk):
    (tx,) = rejected_rows(alpha_clerk, 1)
    url = reverse("registration:correction-transaction", kwargs={"uid": tx.uid})
    assert clerk_client(alpha_clerk).get(url).status_code == 404


def test_anonymous_visitors_cannot_reach_the_correction_form(open_mobile):
    opened, _ = open_mobile()
    response = Client().get(correction_url(opened.line))
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


# --- NUL anywhere: the project's guard answers 400 before any view, nothing done ------------


def test_nul_in_a_token_filter_or_correction_is_a_clean_400(alpha_clerk, open_mobile):
    opened, _ = open_mobile()
    token = receipts.receipt_token(opened)
    check = Client().get(f"/receipt-check/{opened.reference}/%00{token}/")
    assert check.status_code == 400
    assert 'id="genuine"' not in check.content.decode()
    client = clerk_client(alpha_clerk)
    for query in ({"reference": "AB\x00CD"}, {"date_from": "\x00"}, {"page": "1\x00"}):
        assert list_page(client, **query).status_code == 400
    for data in ({"field": "x\x00", "value": "A"}, {"field": "name", "value": "A\x00B"}):
        assert client.post(correction_url(opened.line), data).status_code == 400
    assert not CorrectionRequest.objects.exists()
