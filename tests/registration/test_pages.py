"""The store pages, driven with the Django test client: each kind through the
wizard, refusals shown on the page, tenancy, and no personal data in clear
where it should not be."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from identity import services as identity_services
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.models import (
    AccessLogEntry,
    AccessPurpose,
    Consent,
    NoticeLanguage,
    Person,
    PrivacyNotice,
)
from identity.types import IdentityData
from operators.roles import Role
from registration import numbers
from registration.models import (
    Line,
    LineKind,
    LineService,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Service,
    Transaction,
    TransactionState,
)
from tests.conftest import NOTICE_PARTS_EN
from tests.helpers import identity_form_fields

pytestmark = pytest.mark.django_db

MOBILE_FIRST = 13800138000
LANDLINE_FIRST = 1062345600
NOTICE_PARTS_ZH = {
    "purpose": "依法登记电话用户真实身份信息。",
    "manner": "在营业厅或线上根据您的身份证件采集。",
    "scope": "姓名、出生日期、性别、证件类型和号码、住址。",
    "retention": "在您使用号码期间及最后一个号码注销后两年内保存。",
    "query_and_correction": "可在任一营业厅或自助页面查询和更正。",
    "consequences_of_refusal": "拒绝提供将无法为您办理入网或变更业务。",
}


# --- Fixtures (this module's own: the registration conftest belongs to the service tests) ---


@pytest.fixture
def notices(alpha):
    published = []
    for language, parts in (
        (NoticeLanguage.ZH, NOTICE_PARTS_ZH),
        (NoticeLanguage.EN, NOTICE_PARTS_EN),
    ):
        draft = identity_services.notice_draft_create(
            operator=alpha, language=language, parts=parts
        )
        published.append(identity_services.notice_publish(notice=draft, actor=None))
    return published


@pytest.fixture
def stock(alpha):
    """Valid China numbers in alpha's inventory: 10 mobile, 5 Beijing fixed lines."""
    rows = [
        PhoneNumber(operator=alpha, number=f"+86{MOBILE_FIRST + n}", kind=LineKind.MOBILE)
        for n in range(10)
    ] + [
        PhoneNumber(operator=alpha, number=f"+86{LANDLINE_FIRST + n}", kind=LineKind.LANDLINE)
        for n in range(5)
    ]
    for row in rows:
        assert numbers.to_e164(row.number, country="CN", kind=row.kind) == row.number
    PhoneNumber.objects.bulk_create(rows)
    return rows


@pytest.fixture
def roaming(alpha):
    return Service.objects.create(
        operator=alpha, code="intl_roaming", name="International roaming", line_kinds=["mobile"]
    )


@pytest.fixture
def person_factory(citizen):
    """Synthetic citizens known to the simulated authority (tests/conftest.py)."""
    return citizen


@pytest.fixture
def counter(alpha_clerk, web_client_for, notices, stock):
    """The test client signed in as alpha's clerk, with a notice and numbers."""
    return web_client_for(alpha_clerk)


# --- Helpers ---------------------------------------------------------------------------------


def signed_in(staff) -> Client:
    """A separate browser (its own cookies) signed in as ``staff``."""
    client = Client()
    client.force_login(staff.user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def url(step: str, kind: str) -> str:
    return reverse(f"registration:{step}", kwargs={"kind": kind})


def block(party: str, identity: IdentityData) -> dict[str, str]:
    return identity_form_fields(identity, prefix=f"{party}-")


def take(client, kind: str, details: dict[str, str], **parties: IdentityData):
    """Walk the wizard of ``kind``; returns the confirmation POST's response."""
    data: dict[str, str] = {}
    for party, identity in parties.items():
        data.update(block(party, identity))
    details = dict(details)
    if "line" in details:
        # The line is asked at the identity step, with the parties.
        data["line"] = details.pop("line")
    response = client.post(url("identity", kind), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == url("notice", kind)
    notice_page = client.get(url("notice", kind))
    notice_hash = notice_page.context["notices"][0].content_hash
    response = client.post(
        url("notice", kind), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    assert response.status_code == 302
    if details:
        response = client.post(url("details", kind), details)
        assert response.status_code == 302, response.content.decode()[:3000]
    assert client.get(url("confirm", kind)).status_code == 200
    return client.post(url("confirm", kind))


def completed(response) -> Transaction:
    assert response.status_code == 302, response.content.decode()[:3000]
    uid = re.search(r"/store/transactions/([0-9a-f-]{36})/", response["Location"]).group(1)
    return Transaction.objects.get(uid=uid)


def open_mobile(client, identity: IdentityData, number: str = "") -> Transaction:
    return completed(take(client, "mobile_open", {"number": number}, applicant=identity))


def install_landline(client, identity: IdentityData) -> Transaction:
    return completed(
        take(
            client,
            "landline_install",
            {"number": "", "installation_address": "北京市朝阳区样例路8号3单元"},
            applicant=identity,
        )
    )


def assert_nothing_in_clear(content: str, identity: IdentityData) -> None:
    assert identity.id_number not in content
    assert identity.name not in content
    if identity.address:
        assert identity.address not in content


# --- Happy paths, one per kind ----------------------------------------------------------------


def test_mobile_opening_through_the_pages_gives_the_chosen_number_and_a_receipt(
    counter, person_factory, alpha_clerk
):
    identity = person_factory()
    tx = open_mobile(counter, identity, number="+8613800138003")
    assert tx.state == TransactionState.COMPLETED
    assert tx.line.number == "+8613800138003"
    assert tx.staff == alpha_clerk.user
    assert PhoneNumber.objects.get(number="+8613800138003").status == NumberStatus.ASSIGNED
    receipt = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    content = receipt.content.decode()
    assert tx.reference in content
    assert "Completed" in content
    assert "138 0013 8003" in content  # grouped for reading (identity.phone_format)
    assert tx.notice_hash in content
    assert "no-store" in receipt["Cache-Control"]


def test_landline_installation_records_the_address_and_shows_it_masked(counter, person_factory):
    identity = person_factory()
    tx = install_landline(counter, identity)
    assert tx.state == TransactionState.COMPLETED
    assert tx.line.kind == LineKind.LANDLINE
    assert tx.line.installation_address_enc is not None
    content = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).content.decode()
    assert "北京市朝阳区***" in content
    assert "样例路8号" not in content


def test_landline_relocation_moves_the_installation_address(counter, person_factory):
    identity = person_factory()
    line = install_landline(counter, identity).line
    tx = completed(
        take(
            counter,
            "landline_relocate",
            {"line": line.number, "installation_address": "上海市浦东新区测试街1号"},
            applicant=identity,
        )
    )
    assert tx.state == TransactionState.COMPLETED
    assert tx.line == line
    content = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).content.decode()
    assert "上海市浦东新区***" in content


def test_landline_transfer_gives_the_line_to_the_new_holder(counter, person_factory):
    holder, new_holder = person_factory(), person_factory()
    line = install_landline(counter, holder).line
    tx = completed(
        take(
            counter,
            "landline_transfer",
            {"line": line.number},
            holder=holder,
            new_holder=new_holder,
        )
    )
    assert tx.state == TransactionState.COMPLETED
    line.refresh_from_db()
    assert line.holder == tx.new_holder
    assert tx.consent.person == tx.new_holder


def test_mobile_transfer_accepts_the_number_as_dialled_locally(counter, person_factory):
    holder, new_holder = person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    local = line.number.removeprefix("+86")
    tx = completed(
        take(counter, "mobile_transfer", {"line": local}, holder=holder, new_holder=new_holder)
    )
    line.refresh_from_db()
    assert tx.kind == "mobile_transfer"
    assert line.holder == tx.new_holder


def test_service_add_activates_the_service_on_the_line(counter, person_factory, roaming):
    identity = person_factory()
    line = open_mobile(counter, identity).line
    tx = completed(
        take(
            counter,
            "service_add",
            {"line": line.number, "service": "intl_roaming"},
            applicant=identity,
        )
    )
    assert tx.service == roaming
    assert LineService.objects.filter(line=line, service=roaming).exists()
    content = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).content.decode()
    assert "International roaming" in content


def test_any_number_takes_the_first_available_one(counter, person_factory):
    tx = open_mobile(counter, person_factory(), number="")
    assert tx.line.number == f"+86{MOBILE_FIRST}"


def test_number_pattern_filters_the_numbers_offered(counter, person_factory):
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    notice = PrivacyNotice.objects.filter(language="zh-hans").get()
    counter.post(
        url("notice", "mobile_open"),
        {"notice": notice.content_hash, "consent": "on", "action": "consent"},
    )
    page = counter.get(url("details", "mobile_open"), {"pattern": "8007"})
    content = page.content.decode()
    assert 'value="+8613800138007"' in content
    assert 'value="+8613800138006"' not in content


def test_notice_step_shows_every_part_in_both_languages(counter, person_factory):
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    content = counter.get(url("notice", "mobile_open")).content.decode()
    for text in [*NOTICE_PARTS_ZH.values(), *NOTICE_PARTS_EN.values()]:
        assert text in content
    assert 'id="notice-zh-hans"' in content
    assert 'id="notice-en"' in content


# --- Refusals on the page --------------------------------------------------------------------


def test_invalid_id_number_is_shown_beside_the_field_and_nothing_is_stored(counter, person_factory):
    identity = person_factory()
    last = identity.id_number[-1]
    broken = replace(identity, id_number=identity.id_number[:-1] + ("1" if last != "1" else "2"))
    response = counter.post(url("identity", "mobile_open"), block("applicant", broken))
    assert response.status_code == 400
    content = response.content.decode()
    error = re.search(r'id="error-applicant-id_number"[^>]*>(.*?)</p>', content)
    assert error is not None
    assert "check digit" in error.group(1)
    # Beside the field: inside the same field wrapper as the input.
    wrapper = content.split('id="field-applicant-id_number"', 1)[1].split('id="field-', 1)[0]
    assert 'name="applicant-id_number"' in wrapper
    assert "error-applicant-id_number" in wrapper
    assert Person.objects.count() == 0
    assert Transaction.objects.count() == 0
    assert counter.get(url("notice", "mobile_open"))["Location"] == url("identity", "mobile_open")


def test_missing_address_for_an_opening_is_shown_beside_the_address(counter, person_factory):
    identity = replace(person_factory(), address=None)
    response = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert response.status_code == 400
    assert 'id="error-applicant-address"' in response.content.decode()


def test_identity_unknown_to_the_authority_is_stopped_at_the_identity_step(counter, person_factory):
    identity = replace(person_factory(), name="王未知")
    response = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert response.status_code == 409
    assert "do not match the authority" in response.content.decode()
    assert Person.objects.count() == 0


def test_refused_consent_stores_no_person_and_ends_the_flow(counter, person_factory, notices):
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    response = counter.post(
        url("notice", "mobile_open"), {"notice": notices[1].content_hash, "action": "refuse"}
    )
    assert response.status_code == 200
    assert "Nothing about them was stored" in response.content.decode()
    assert Person.objects.count() == 0
    refusal = Consent.objects.get()
    assert refusal.given is False
    assert refusal.person is None
    assert refusal.notice_hash == notices[1].content_hash
    assert counter.get(url("details", "mobile_open"))["Location"] == url("identity", "mobile_open")


def test_consent_box_not_ticked_is_asked_for_beside_it(counter, person_factory, notices):
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    response = counter.post(
        url("notice", "mobile_open"), {"notice": notices[0].content_hash, "action": "consent"}
    )
    assert response.status_code == 400
    assert 'id="error-consent"' in response.content.decode()


def test_cap_reached_is_told_at_the_identity_step_beside_the_document(
    counter, person_factory, alpha
):
    alpha.mobile_line_cap = 2
    alpha.save()
    identity = person_factory()
    open_mobile(counter, identity)
    open_mobile(counter, identity)
    response = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert response.status_code == 409
    form = response.context["party_forms"][0]["form"]
    assert "holds 2 of 2 mobile lines" in " ".join(form.errors["id_number"])
    assert 'id="error-applicant-id_number"' in response.content.decode()
    # Refused before consent: no rejected transaction is recorded.
    assert not Transaction.objects.filter(state=TransactionState.REJECTED).exists()


def test_number_taken_meanwhile_is_shown_beside_the_number(counter, person_factory):
    identity = person_factory()
    counter.post(url("identity", "mobile_open"), block("applicant", identity))
    notice = PrivacyNotice.objects.filter(language="en").get()
    counter.post(
        url("notice", "mobile_open"),
        {"notice": notice.content_hash, "consent": "on", "action": "consent"},
    )
    counter.post(url("details", "mobile_open"), {"number": "+8613800138005"})
    PhoneNumber.objects.filter(number="+8613800138005").update(status=NumberStatus.QUARANTINED)
    response = counter.post(url("confirm", "mobile_open"))
    assert response.status_code == 409
    assert 'id="error-number"' in response.content.decode()
    assert Line.objects.count() == 0


def test_transfer_by_someone_not_the_holder_is_refused_at_the_identity_step(
    counter, person_factory
):
    holder, impostor, new_holder = person_factory(), person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    holder_pk = line.holder_id
    data = {**block("holder", impostor), **block("new_holder", new_holder), "line": line.number}
    response = counter.post(url("identity", "mobile_transfer"), data)
    assert response.status_code == 409
    content = response.content.decode()
    assert "not the registered holder" in content
    assert 'id="error-holder-id_number"' in content
    assert not Transaction.objects.filter(state=TransactionState.REJECTED).exists()
    line.refresh_from_db()
    assert line.holder_id == holder_pk


def test_unknown_line_is_refused_beside_the_line_field(counter, person_factory):
    identity = person_factory()
    data = {**block("applicant", identity), "line": "+861062345699"}
    response = counter.post(url("identity", "landline_relocate"), data)
    assert response.status_code == 409
    assert 'id="error-line"' in response.content.decode()


def test_authority_unreachable_parks_the_transaction_and_the_clerk_can_cancel_it(
    counter, person_factory, monkeypatch
):
    from identity import authority

    class Down:
        name = "test-down"

        def verify(self, identity):
            return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)

    monkeypatch.setattr(authority, "get_backend", lambda: Down())
    tx = open_mobile(counter, person_factory(), number="+8613800138002")
    assert tx.state == TransactionState.PENDING_VERIFICATION
    content = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).content.decode()
    assert "Waiting for the authority" in content
    assert "completes automatically" in content
    listing = counter.get(reverse("registration:transactions")).content.decode()
    assert tx.reference in listing.split('id="recent"')[0]  # in the waiting section
    response = counter.post(reverse("registration:cancel", kwargs={"uid": tx.uid}))
    assert response.status_code == 302
    tx.refresh_from_db()
    assert tx.state == TransactionState.CANCELLED
    assert PhoneNumber.objects.get(number="+8613800138002").status == NumberStatus.AVAILABLE


def test_cancelling_a_completed_transaction_says_why_not(counter, person_factory):
    tx = open_mobile(counter, person_factory())
    response = counter.post(reverse("registration:cancel", kwargs={"uid": tx.uid}), follow=True)
    assert "Only a transaction waiting for the authority can be cancelled" in (
        response.content.decode()
    )
    tx.refresh_from_db()
    assert tx.state == TransactionState.COMPLETED


# --- Access and tenancy ----------------------------------------------------------------------


def test_staff_without_transaction_rights_get_403_on_the_wizard(
    alpha, make_staff, web_client_for, notices
):
    client = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    assert client.get(url("identity", "mobile_open")).status_code == 403
    assert client.post(url("confirm", "mobile_open")).status_code == 403
    assert client.get(reverse("registration:transactions")).status_code == 200
    assert client.get(reverse("registration:lines")).status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(url("identity", "mobile_open"))
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_unknown_kind_is_404(counter):
    assert counter.get(url("identity", "teleport")).status_code == 404


def test_another_operators_receipt_is_404(counter, person_factory, beta, make_staff):
    tx = open_mobile(counter, person_factory())
    client = signed_in(make_staff(beta, Role.CLERK))
    assert client.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).status_code == 404
    assert client.post(reverse("registration:cancel", kwargs={"uid": tx.uid})).status_code == 404
    assert (
        client.post(reverse("registration:lines"), {"number": tx.line.number}).context["found"]
        == []
    )


def test_clerk_of_another_store_cannot_see_this_stores_transactions(
    counter, person_factory, alpha, make_staff, monkeypatch
):
    from identity import authority

    class Down:
        name = "test-down"

        def verify(self, identity):
            return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-x", utc_now(), self.name)

    done = open_mobile(counter, person_factory())
    monkeypatch.setattr(authority, "get_backend", lambda: Down())
    waiting = open_mobile(counter, person_factory())
    client = signed_in(make_staff(alpha, Role.CLERK))  # a clerk of another store
    listing = client.get(reverse("registration:transactions")).content.decode()
    assert done.reference not in listing
    assert waiting.reference not in listing
    for tx in (done, waiting):
        assert (
            client.get(reverse("registration:receipt", kwargs={"uid": tx.uid})).status_code == 404
        )


# --- No personal data in clear -------------------------------------------------------------


def test_receipt_list_and_lookup_show_the_holder_masked_only(counter, person_factory):
    identity = person_factory()
    tx = install_landline(counter, identity)
    receipt = counter.get(reverse("registration:receipt", kwargs={"uid": tx.uid}))
    listing = counter.get(reverse("registration:transactions"))
    lookup = counter.post(reverse("registration:lines"), {"number": tx.line.number})
    for response in (receipt, listing, lookup):
        assert response.status_code == 200
        assert_nothing_in_clear(response.content.decode(), identity)
    assert "no-store" in lookup["Cache-Control"]
    content = lookup.content.decode()
    assert identity.name[0] + "*" in content
    assert identity.id_number[:4] in content
    assert identity.id_number[-4:] in content
    assert "Active" in content
    assert "北京市朝阳区***" in content
    assert tx.store.code in content


def test_lookup_by_local_number_finds_the_line(counter, person_factory):
    line = open_mobile(counter, person_factory()).line
    response = counter.post(reverse("registration:lines"), {"number": line.number[3:]})
    assert [item["line"] for item in response.context["found"]] == [line]
    assert LineStatus.ACTIVE == line.status


def test_lookup_of_an_invalid_number_says_so_beside_the_field(counter):
    response = counter.post(reverse("registration:lines"), {"number": "12"})
    assert response.status_code == 400
    assert 'id="error-number"' in response.content.decode()


def test_wizard_keeps_identity_sealed_in_the_session_and_out_of_urls(counter, person_factory):
    identity = person_factory()
    response = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert identity.id_number not in response["Location"]
    raw = "".join(s.session_data for s in Session.objects.all())
    decoded = str([s.get_decoded() for s in Session.objects.all()])
    for text in (raw, decoded):
        assert identity.id_number not in text
        assert identity.name not in text
    page = counter.get(url("notice", "mobile_open"))
    assert "no-store" in page["Cache-Control"]
    assert identity.id_number not in page.content.decode()  # masked in the summary


def test_abandoning_clears_the_wizard(counter, person_factory):
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    assert counter.post(reverse("registration:abandon")).status_code == 302
    assert counter.get(url("notice", "mobile_open"))["Location"] == url("identity", "mobile_open")
    assert Person.objects.count() == 0


def test_completion_clears_the_wizard_and_checks_are_in_the_access_log(counter, person_factory):
    open_mobile(counter, person_factory())
    assert counter.get(url("confirm", "mobile_open"))["Location"] == url("identity", "mobile_open")
    assert AccessLogEntry.objects.filter(purpose=AccessPurpose.AUTHORITY_CHECK).count() >= 1


def test_dashboard_links_store_staff_to_the_store_pages(counter):
    content = counter.get("/").content.decode()
    assert reverse("registration:index") in content
    index = counter.get(reverse("registration:index")).content.decode()
    assert url("identity", "mobile_transfer") in index


def test_without_a_published_notice_consent_cannot_be_taken(
    alpha_clerk, web_client_for, stock, person_factory
):
    client = web_client_for(alpha_clerk)
    client.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    page = client.get(url("notice", "mobile_open"))
    assert 'id="no-notice"' in page.content.decode()
    response = client.post(url("notice", "mobile_open"), {"consent": "on", "action": "consent"})
    assert response.status_code == 409
    assert Consent.objects.count() == 0


def test_service_not_for_this_kind_of_line_is_refused_beside_the_service(
    counter, person_factory, alpha
):
    Service.objects.create(
        operator=alpha, code="wake_up", name="Wake-up calls", line_kinds=["landline"]
    )
    identity = person_factory()
    line = open_mobile(counter, identity).line
    response = take(
        counter, "service_add", {"line": line.number, "service": "wake_up"}, applicant=identity
    )
    assert response.status_code == 409
    assert 'id="error-service"' in response.content.decode()
    assert Transaction.objects.get(state=TransactionState.REJECTED).refusal_code == (
        "service_not_applicable"
    )


def test_inactive_store_cannot_take_a_transaction(counter, person_factory, alpha_clerk):
    identity = person_factory()
    counter.post(url("identity", "mobile_open"), block("applicant", identity))
    alpha_clerk.store.active = False
    alpha_clerk.store.save()
    notice = PrivacyNotice.objects.filter(language="en").get()
    counter.post(
        url("notice", "mobile_open"),
        {"notice": notice.content_hash, "consent": "on", "action": "consent"},
    )
    counter.post(url("details", "mobile_open"), {"number": ""})
    response = counter.post(url("confirm", "mobile_open"))
    assert response.status_code == 403
    assert "store is not active" in response.content.decode()
    assert Person.objects.count() == 0


def test_the_wizards_identity_check_counts_against_the_lookup_limit(
    settings, counter, person_factory
):
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 2
    identity = person_factory()
    for _ in range(2):
        first = counter.post(url("identity", "mobile_open"), block("applicant", identity))
        assert first.status_code == 302
    refused = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert refused.status_code == 429
    assert "Too many look-ups" in refused.content.decode()


def test_the_identity_step_sets_the_persons_language(counter, person_factory):
    identity = replace(person_factory(), language="en")
    tx = open_mobile(counter, identity)
    assert tx.line.holder.language == "en"


def test_a_bad_language_at_the_identity_step_is_shown_beside_it(counter, person_factory):
    data = {**block("applicant", person_factory()), "applicant-language": "fr"}
    response = counter.post(url("identity", "mobile_open"), data)
    assert response.status_code == 400
    assert response.context["party_forms"][0]["form"].errors["language"]
    assert not Person.objects.exists()
