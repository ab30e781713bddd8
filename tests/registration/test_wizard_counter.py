"""The counter wizard finds conflicts early and makes data entry fast (issue 12,
"The counter"): cap, holder and line told at the identity step, before consent
and details, telling nothing about other people; a refusal at confirm names
what to change and retries record no new rejected transaction; nationality
from a list of countries, a grouped number picker, autofocus, a busy state.
Pages in both languages against the catalogue."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from identity import authority
from identity.authority import AuthorityResult, Outcome, utc_now
from identity.models import AccessLogEntry, LookupBucket, PrivacyNotice
from identity.services import ConsentInput
from operators.roles import Role
from registration import precheck
from registration.forms import NUMBERS_OFFERED, number_groups
from registration.models import (
    Line,
    LineKind,
    LineStatus,
    NumberStatus,
    PhoneNumber,
    Transaction,
    TransactionState,
)
from registration.services import TransactionRequest, transaction_submit
from tests import test_translations
from tests.registration import test_pages
from tests.registration.test_pages import block, open_mobile, url
from tests.test_translations import untranslated, visible

pytestmark = pytest.mark.django_db

# The store pages' fixtures and the catalogue's, shared with those modules.
counter = test_pages.counter
notices = test_pages.notices
stock = test_pages.stock
person_factory = test_pages.person_factory
compiled_catalogue = test_translations.compiled_catalogue


def consent_to_notice(client: Client, kind: str) -> None:
    notice = PrivacyNotice.objects.filter(language="en").first()
    response = client.post(
        url("notice", kind), {"notice": notice.content_hash, "consent": "on", "action": "consent"}
    )
    assert response.status_code == 302


def transfer_data(holder, new_holder, line: str) -> dict[str, str]:
    return {**block("holder", holder), **block("new_holder", new_holder), "line": line}


# --- Early conflicts at the identity step ---------------------------------------------------


def test_the_identity_step_tells_how_many_lines_the_document_holds_below_the_cap(
    counter, person_factory, alpha
):
    identity = person_factory()
    open_mobile(counter, identity)
    response = counter.post(url("identity", "mobile_open"), block("applicant", identity))
    assert response.status_code == 302
    page = counter.get(url("notice", "mobile_open")).content.decode()
    assert f"This document holds 1 of {alpha.mobile_line_cap} mobile lines" in page


def test_a_new_holder_at_the_cap_is_refused_before_consent(counter, person_factory, alpha):
    alpha.mobile_line_cap = 1
    alpha.save()
    holder, new_holder = person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    open_mobile(counter, new_holder)
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, new_holder, line.number)
    )
    assert response.status_code == 409
    forms = {pf["party"]: pf["form"] for pf in response.context["party_forms"]}
    assert "holds 1 of 1 mobile lines" in " ".join(forms["new_holder"].errors["id_number"])
    assert "id_number" not in forms["holder"].errors
    assert counter.get(url("notice", "mobile_transfer")).status_code == 302  # not past identity
    assert not Transaction.objects.filter(state=TransactionState.REJECTED).exists()


def test_the_holder_is_confirmed_at_the_identity_step_and_the_details_step_is_skipped(
    counter, person_factory
):
    holder, new_holder = person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, new_holder, line.number)
    )
    assert response.status_code == 302
    notice_page = counter.get(url("notice", "mobile_transfer")).content.decode()
    assert 'id="holder-confirmed"' in notice_page
    assert "holds 0 of" in notice_page
    consent_to_notice(counter, "mobile_transfer")
    # Nothing is left to ask at the details step: straight to confirm.
    assert counter.get(url("details", "mobile_transfer"))["Location"] == url(
        "confirm", "mobile_transfer"
    )
    holder_before = line.holder_id
    response = counter.post(url("confirm", "mobile_transfer"))
    assert response.status_code == 302
    tx = Transaction.objects.get(kind="mobile_transfer")
    assert tx.state == TransactionState.COMPLETED
    line.refresh_from_db()
    assert line.holder_id == tx.new_holder_id != holder_before


def test_a_transfer_to_the_holder_himself_is_refused_beside_the_new_holder(counter, person_factory):
    holder = person_factory()
    line = open_mobile(counter, holder).line
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, holder, line.number)
    )
    assert response.status_code == 409
    assert 'id="error-new_holder-id_number"' in response.content.decode()
    assert "already the registered holder" in response.content.decode()


def test_a_barred_line_is_refused_beside_the_line_field(counter, person_factory):
    holder = person_factory()
    line = open_mobile(counter, holder).line
    Line.objects.filter(pk=line.pk).update(status=LineStatus.SUSPENDED)
    data = {**block("applicant", holder), "line": line.number, "service": ""}
    response = counter.post(url("identity", "service_add"), data)
    assert response.status_code == 409
    form = response.context["line_form"]
    assert "barred, suspended or closed" in " ".join(form.errors["line"])


def test_a_line_of_the_wrong_kind_is_refused_beside_the_line_field(counter, person_factory):
    holder = person_factory()
    line = open_mobile(counter, holder).line
    response = counter.post(
        url("identity", "landline_relocate"), {**block("applicant", holder), "line": line.number}
    )
    assert response.status_code in (400, 409)
    assert response.context["line_form"].errors["line"]


def test_another_operators_line_is_not_found_and_tells_nothing_of_its_holder(
    counter, person_factory, beta, beta_store, make_staff, publish_notice
):
    holder = person_factory()
    notice = publish_notice(beta)
    PhoneNumber.objects.create(operator=beta, number="+8613900139000", kind=LineKind.MOBILE)
    beta_clerk = make_staff(beta, Role.CLERK, store=beta_store)
    beta_line = transaction_submit(
        actor=beta_clerk.user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=holder,
            consent=ConsentInput(notice.content_hash, True),
        ),
    ).line
    # Alpha's clerk names beta's line with its true holder: found nowhere.
    response = counter.post(
        url("identity", "mobile_transfer"),
        transfer_data(holder, person_factory(), beta_line.number),
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert "No line with that number at this operator" in content
    assert "not the registered holder" not in content
    assert 'id="holder-confirmed"' not in content


def test_early_checks_wait_for_the_authoritys_match(counter, person_factory, monkeypatch):
    holder, impostor = person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    before = AccessLogEntry.objects.filter(detail__surface=precheck.SURFACE).count()

    class Mismatch:
        name = "test-mismatch"

        def verify(self, identity):
            return AuthorityResult(Outcome.MISMATCH, "LOCAL-m", utc_now(), self.name)

    monkeypatch.setattr(authority, "get_backend", lambda: Mismatch())
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(impostor, person_factory(), line.number)
    )
    assert response.status_code == 409
    assert "not the registered holder" not in response.content.decode()
    # No line or person was looked up for a clerk the authority did not follow.
    assert AccessLogEntry.objects.filter(detail__surface=precheck.SURFACE).count() == before


def test_with_the_authority_unreachable_the_wizard_goes_on_and_the_submit_decides(
    counter, person_factory, monkeypatch
):
    holder = person_factory()
    line = open_mobile(counter, holder).line

    class Down:
        name = "test-down"

        def verify(self, identity):
            return AuthorityResult(Outcome.UNAVAILABLE, "LOCAL-d", utc_now(), self.name)

    monkeypatch.setattr(authority, "get_backend", lambda: Down())
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, person_factory(), line.number)
    )
    assert response.status_code == 302


def test_the_line_and_document_checks_are_in_the_access_log_and_counted(
    settings, counter, person_factory
):
    holder = person_factory()
    line = open_mobile(counter, holder).line
    LookupBucket.objects.all().delete()
    before = AccessLogEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, person_factory(), line.number)
    )
    assert response.status_code == 302
    logged = AccessLogEntry.objects.filter(detail__surface=precheck.SURFACE, pk__gt=before)
    kinds_logged = sorted(entry.detail["lookup"] for entry in logged)
    assert kinds_logged == ["document", "line_number"]
    # Two identity checks, then the line look-up: the third on the hourly limit.
    LookupBucket.objects.all().delete()
    settings.TELEREG_LOOKUP_LIMIT_PER_HOUR = 2
    response = counter.post(
        url("identity", "mobile_transfer"), transfer_data(holder, person_factory(), line.number)
    )
    assert response.status_code == 429
    assert "Too many look-ups" in " ".join(response.context["line_form"].non_field_errors())


def test_a_line_number_with_a_nul_is_refused_cleanly(counter, person_factory):
    data = {**block("applicant", person_factory()), "line": "1380013\x008000"}
    response = counter.post(url("identity", "landline_relocate"), data)
    assert response.status_code == 400
    assert counter.get(url("notice", "landline_relocate")).status_code == 302  # not past identity
    assert not Transaction.objects.exists()


def test_an_oversized_line_number_is_refused_beside_the_field(counter, person_factory):
    data = {**block("applicant", person_factory()), "line": "1" * 5000}
    response = counter.post(url("identity", "landline_relocate"), data)
    assert response.status_code == 400
    assert response.context["line_form"].errors["line"]


def test_a_clerk_without_the_permission_gets_403_at_the_identity_step(
    alpha, make_staff, web_client_for, notices, person_factory
):
    viewer = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    response = viewer.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    assert response.status_code == 403
    assert not AccessLogEntry.objects.filter(detail__surface=precheck.SURFACE).exists()


# --- A refusal at confirm -------------------------------------------------------------------


def _to_confirm_with_number(client: Client, identity, number: str) -> None:
    assert client.post(url("identity", "mobile_open"), block("applicant", identity)).status_code
    consent_to_notice(client, "mobile_open")
    assert client.post(url("details", "mobile_open"), {"number": number}).status_code == 302


def test_three_refused_submits_leave_one_rejected_transaction(counter, person_factory):
    _to_confirm_with_number(counter, person_factory(), "+8613800138005")
    PhoneNumber.objects.filter(number="+8613800138005").update(status=NumberStatus.QUARANTINED)
    references = set()
    for _ in range(3):
        response = counter.post(url("confirm", "mobile_open"))
        assert response.status_code == 409
        references.add(response.context["rejected"].reference)
    assert Transaction.objects.filter(state=TransactionState.REJECTED).count() == 1
    assert len(references) == 1


def test_a_refusal_at_confirm_names_what_to_change_with_a_link_to_the_step(counter, person_factory):
    _to_confirm_with_number(counter, person_factory(), "+8613800138005")
    PhoneNumber.objects.filter(number="+8613800138005").update(status=NumberStatus.QUARANTINED)
    response = counter.post(url("confirm", "mobile_open"))
    content = response.content.decode()
    links = re.search(r'<p id="change-links">(.*?)</p>', content, re.S).group(1)
    assert url("details", "mobile_open") in links
    assert 'id="error-number"' in content
    # Another number is a new request: it is submitted, and goes through.
    counter.post(url("details", "mobile_open"), {"number": "+8613800138006"})
    response = counter.post(url("confirm", "mobile_open"))
    assert response.status_code == 302
    assert Transaction.objects.filter(state=TransactionState.REJECTED).count() == 1
    assert Transaction.objects.filter(state=TransactionState.COMPLETED).count() == 1


def test_a_holder_refusal_at_confirm_names_the_document_field_not_a_code(
    counter, person_factory, alpha_clerk, notices
):
    holder, new_holder, buyer = person_factory(), person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    data = transfer_data(holder, new_holder, line.number)
    assert counter.post(url("identity", "mobile_transfer"), data).status_code == 302
    consent_to_notice(counter, "mobile_transfer")
    # Meanwhile the line changed hands: the submit refuses, beside the holder.
    transaction_submit(
        actor=alpha_clerk.user,
        request=TransactionRequest(
            kind="mobile_transfer",
            holder=holder,
            new_holder=buyer,
            line=line.number,
            consent=ConsentInput(notices[0].content_hash, True),
        ),
    )
    response = counter.post(url("confirm", "mobile_transfer"))
    assert response.status_code == 409
    summary = response.context["parties_summary"]
    holder_errors = next(p["errors"] for p in summary if p["party"] == "holder")
    assert holder_errors
    assert not any(e.startswith("identity:") for e in holder_errors)
    assert url("identity", "mobile_transfer") in response.content.decode()


# --- Fast entry -----------------------------------------------------------------------------


def test_nationality_is_a_list_of_countries_named_in_the_pages_language(counter, alpha):
    type(alpha).objects.filter(pk=alpha.pk).update(default_language="zh-hans")
    page = counter.get(url("identity", "mobile_open")).content.decode()
    select = re.search(r'<select name="applicant-nationality".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="([A-Z]*)"[^>]*>([^<]*)</option>', select)
    assert options[0][0] == ""
    assert options[1] == ("CHN", "中国")
    names = [name for _, name in options[2:]]
    assert names == sorted(names, key=str.casefold)
    assert len(options) > 240


def test_a_nationality_not_in_the_list_is_refused_beside_the_field(counter, person_factory):
    data = {**block("applicant", person_factory()), "applicant-nationality": "XXX"}
    response = counter.post(url("identity", "mobile_open"), data)
    assert response.status_code == 400
    assert response.context["party_forms"][0]["form"].errors["nationality"]


def test_the_countries_are_offered_by_their_alpha_3_codes(counter):
    form_page = counter.get(url("identity", "mobile_open")).content.decode()
    assert '<option value="USA">' in form_page


def test_the_first_field_has_autofocus_and_after_an_error_the_first_field_in_error(
    counter, person_factory
):
    page = counter.get(url("identity", "mobile_open")).content.decode()
    assert re.search(r'<select name="applicant-id_type"[^>]*autofocus', page)
    data = {**block("applicant", person_factory()), "applicant-name": ""}
    page = counter.post(url("identity", "mobile_open"), data).content.decode()
    assert re.search(r'<input type="text" name="applicant-name"[^>]*autofocus', page)
    assert page.count("autofocus") == 1


def test_the_line_comes_first_and_has_the_focus_for_a_kind_on_a_line(counter):
    page = counter.get(url("identity", "mobile_transfer")).content.decode()
    assert re.search(r'<input type="text" name="line"[^>]*autofocus', page)
    assert page.index('name="line"') < page.index('name="holder-id_type"')


def test_the_number_picker_is_a_grouped_select_with_a_search_box(counter, person_factory):
    _to_details = counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    assert _to_details.status_code == 302
    consent_to_notice(counter, "mobile_open")
    page = counter.get(url("details", "mobile_open")).content.decode()
    assert re.search(r'<select name="number"[^>]*data-number-picker', page)
    assert '<optgroup label="Numbers starting 138">' in page
    assert 'data-number-search="id_number"' in page
    assert 'for="number-search-input"' in page
    # Without the script the GET filter narrows the list on the server.
    page = counter.get(url("details", "mobile_open") + "?pattern=8005").content.decode()
    assert page.count('<option value="+86') == 1


def test_numbers_are_grouped_by_their_network_or_area_code():
    groups = number_groups(["+8613800138000", "+8613800138001", "+861062345600", "+8613900139000"])
    assert [(label, [value for value, _ in options]) for label, options in groups] == [
        ("Numbers starting 138", ["+8613800138000", "+8613800138001"]),
        ("Numbers starting 10", ["+861062345600"]),
        ("Numbers starting 139", ["+8613900139000"]),
    ]


def test_the_number_picker_offers_a_bounded_list(counter, person_factory, alpha):
    PhoneNumber.objects.bulk_create(
        PhoneNumber(operator=alpha, number=f"+86{13900000000 + n}", kind=LineKind.MOBILE)
        for n in range(NUMBERS_OFFERED + 50)
    )
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    consent_to_notice(counter, "mobile_open")
    page = counter.get(url("details", "mobile_open")).content.decode()
    assert page.count('<option value="+86') == NUMBERS_OFFERED


def test_every_submit_of_the_wizard_asks_for_a_busy_state(counter, person_factory):
    page = counter.get(url("identity", "mobile_open")).content.decode()
    assert re.search(r'<form[^>]*id="identity-form"[^>]*data-busy', page)
    assert "data-busy-label=" in page
    assert "<script>" not in page
    assert " onclick=" not in page


def test_a_resident_id_block_says_which_types_carry_birth_date_and_sex(counter):
    page = counter.get(url("identity", "mobile_open")).content.decode()
    assert 'data-birth-in-number="cn_resident_id"' in page
    assert re.search(r'name="applicant-id_number"[^>]*data-id-number', page)
    assert re.search(r'name="applicant-date_of_birth"[^>]*data-birth-date', page)


# --- Both languages -------------------------------------------------------------------------


def _pages_of_a_refused_transfer(client: Client, holder, new_holder, line) -> dict[str, str]:
    pages = {"identity": client.get(url("identity", "mobile_transfer")).content.decode()}
    refused = client.post(
        url("identity", "mobile_transfer"), transfer_data(new_holder, holder, line.number)
    )
    pages["identity refused"] = refused.content.decode()
    client.post(url("identity", "mobile_transfer"), transfer_data(holder, new_holder, line.number))
    pages["notice"] = client.get(url("notice", "mobile_transfer")).content.decode()
    consent_to_notice(client, "mobile_transfer")
    Line.objects.filter(pk=line.pk).update(status=LineStatus.SUSPENDED)
    pages["confirm refused"] = client.post(url("confirm", "mobile_transfer")).content.decode()
    return pages


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_wizards_pages_speak_the_page_language(
    counter, person_factory, alpha, alpha_clerk, language, compiled_catalogue
):
    # Names are data, not catalogue texts: Chinese ones, as a Chinese carrier's.
    type(alpha).objects.filter(pk=alpha.pk).update(default_language=language, name="华通电信")
    type(alpha_clerk.store).objects.filter(pk=alpha_clerk.store_id).update(name="朝阳营业厅")
    holder, new_holder = person_factory(), person_factory()
    line = open_mobile(counter, holder).line
    pages = _pages_of_a_refused_transfer(counter, holder, new_holder, line)
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    consent_to_notice(counter, "mobile_open")
    pages["details"] = counter.get(url("details", "mobile_open")).content.decode()
    for name, html in pages.items():
        assert visible(html, language).html_lang == language, name
        if language == "zh-hans":
            assert untranslated(html, compiled_catalogue) == [], name
    # The notice's language by its name, never its code.
    assert re.search(r"[（(]English[）)]", pages["confirm refused"])
    assert not re.search(r"[（(]en[）)]", pages["confirm refused"])
    if language == "zh-hans":
        assert "此人不是该号码的登记机主" in pages["identity refused"]
        assert "号段" in pages["details"]
        assert 'data-count-template="显示号码数：{count}"' in pages["details"]
        assert "正在提交" in pages["identity"]
        assert "中国" in pages["identity"]
    else:
        assert "not the registered holder" in pages["identity refused"]
        assert "Numbers starting" in pages["details"]


# --- Keyboard -------------------------------------------------------------------------------


def _unlabelled_controls(html: str) -> list[str]:
    """Controls a keyboard or screen-reader user cannot tell apart: without a
    ``<label for>`` of their id (hidden inputs and the CSRF token aside)."""
    labelled = set(re.findall(r'<label[^>]*\sfor="([^"]+)"', html))
    controls = re.findall(r"<(input|select|textarea)\b([^>]*)>", html)
    missing = []
    for tag, attributes in controls:
        if re.search(r'type="(hidden|submit)"', attributes):
            continue
        control_id = re.search(r'\sid="([^"]+)"', attributes)
        if control_id is None or control_id.group(1) not in labelled:
            missing.append(f"{tag}{attributes[:60]}")
    return missing


def test_every_control_of_the_wizard_has_its_label(counter, person_factory):
    pages = [
        counter.get(url("identity", "mobile_transfer")).content.decode(),
        counter.get(url("identity", "mobile_open")).content.decode(),
    ]
    counter.post(url("identity", "mobile_open"), block("applicant", person_factory()))
    pages.append(counter.get(url("notice", "mobile_open")).content.decode())
    consent_to_notice(counter, "mobile_open")
    pages.append(counter.get(url("details", "mobile_open")).content.decode())
    for html in pages:
        main = html[html.index("<main>") :]  # the header's language switch is not the wizard's
        assert _unlabelled_controls(main) == []
