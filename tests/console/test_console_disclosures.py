"""Disclosure requests in the console (issue 16): the list, filing, four eyes
shown and enforced, a single release with its warning, legal holds from a
request, the transparency page; in Simplified Chinese and in English."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from identity.models import AccessLogEntry, AccessPurpose
from operators.models import Language, Operator
from operators.roles import Role
from registration import disclosures
from registration.models import Disclosure, DisclosureState, LegalHold
from tests.conftest import privileged_login
from tests.test_translations import untranslated, visible

pytestmark = pytest.mark.django_db

LIST = "console:registration_disclosure_changelist"


def _url(name: str, pk: int | None = None) -> str:
    return reverse(f"console:registration_disclosure_{name}", args=[pk] if pk else None)


@pytest.fixture
def people(alpha, make_staff):
    return {
        "filer": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "second": make_staff(alpha, Role.COMPLIANCE_OFFICER),
        "admin": make_staff(alpha, Role.OPERATOR_ADMIN),
        "clerk": make_staff(alpha, Role.CLERK),
    }


def client_for(staff) -> Client:
    return privileged_login(Client(), staff.user)


@pytest.fixture
def line(open_mobile):
    tx, identity = open_mobile()
    return tx.line, identity


def _form(number: str, **overrides) -> dict:
    return {
        "authority": "市公安局网安支队",
        "authority_type": "police",
        "legal_basis": "刑事诉讼法第五十四条",
        "case_reference": "CASE-7",
        "document_reference": "调证通知书-9",
        "numbers": number,
        "fields": ["name", "lines"],
        **overrides,
    }


@pytest.fixture
def filed(people, line):
    response = client_for(people["filer"]).post(_url("add"), _form(line[0].number))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Disclosure.objects.get()


def test_filing_from_the_console_stores_the_request_pending(filed, line):
    assert filed.state == DisclosureState.PENDING_APPROVAL
    assert filed.fields == ["name", "lines"]
    assert list(filed.lines.values_list("line_id", flat=True)) == [line[0].pk]


def test_a_bad_number_is_shown_beside_the_field_and_nothing_is_stored(people, line):
    response = client_for(people["filer"]).post(_url("add"), _form("+8613999999999"))
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r"errorlist[^>]*>\s*<li>[^<]*1", html)
    assert not Disclosure.objects.exists()


def test_the_filer_sees_four_eyes_and_cannot_approve(people, filed):
    client = client_for(people["filer"])
    html = client.get(_url("change", filed.pk)).content.decode()
    assert 'id="four-eyes-note"' in html
    assert 'id="approve-form"' not in html
    response = client.post(_url("approve", filed.pk))
    assert response.status_code == 403
    assert Disclosure.objects.get(pk=filed.pk).state == DisclosureState.PENDING_APPROVAL


def test_approve_then_release_once_with_the_warning(people, filed, line):
    second = client_for(people["second"])
    assert 'id="approve-form"' in second.get(_url("change", filed.pk)).content.decode()
    assert second.post(_url("approve", filed.pk)).status_code == 302
    filer = client_for(people["filer"])
    detail = filer.get(_url("change", filed.pk)).content.decode()
    assert 'id="release-warning"' in detail
    released = filer.post(_url("release", filed.pk))
    assert released.status_code == 200
    assert "no-store" in released["Cache-Control"]
    html = released.content.decode()
    assert 'id="released-warning"' in html
    assert line[1].name in html
    assert line[0].number in html
    again = filer.post(_url("release", filed.pk))
    assert again.status_code == 409
    assert line[1].name not in again.content.decode()
    assert AccessLogEntry.objects.filter(purpose=AccessPurpose.LAW_ENFORCEMENT).count() == 1
    # The detail never shows the data in clear.
    assert line[1].name not in filer.get(_url("change", filed.pk)).content.decode()


def test_a_get_never_releases(people, filed):
    disclosures.disclosure_approve(disclosure=filed, actor=people["second"].user)
    assert client_for(people["filer"]).get(_url("release", filed.pk)).status_code == 405
    assert Disclosure.objects.get(pk=filed.pk).state == DisclosureState.APPROVED


def test_refusing_with_a_reason(people, filed):
    response = client_for(people["admin"]).post(
        _url("refuse", filed.pk), {"reason": "没有附上法律文书"}
    )
    assert response.status_code == 302
    refused = Disclosure.objects.get(pk=filed.pk)
    assert refused.state == DisclosureState.REFUSED
    assert refused.refusal_reason == "没有附上法律文书"


def test_legal_holds_from_the_request(people, filed, line):
    assert client_for(people["filer"]).post(_url("hold", filed.pk)).status_code == 302
    hold = LegalHold.objects.get()
    assert hold.line_id == line[0].pk
    assert hold.disclosure_id == filed.pk


def test_clerks_get_403_and_another_operator_404(people, filed, beta, make_staff):
    clerk = client_for(people["clerk"])
    assert clerk.get(reverse(LIST)).status_code == 403
    assert clerk.get(_url("change", filed.pk)).status_code == 403
    other = client_for(make_staff(beta, Role.COMPLIANCE_OFFICER))
    assert other.get(_url("change", filed.pk)).status_code == 404
    assert other.post(_url("approve", filed.pk)).status_code == 404
    assert other.post(_url("release", filed.pk)).status_code == 404


def test_the_admin_offers_no_delete_and_no_edit(people, filed):
    client = client_for(people["admin"])
    assert client.get(_url("delete", filed.pk)).status_code == 403
    assert 'name="legal_basis"' not in client.get(_url("change", filed.pk)).content.decode()


def test_the_transparency_page_counts(people, filed):
    disclosures.disclosure_refuse(disclosure=filed, actor=people["second"].user)
    html = client_for(people["admin"]).get(_url("transparency")).content.decode()
    totals = re.search(r'id="transparency-totals">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", totals) == ["1", "0", "1", "0"]
    bad = client_for(people["admin"]).get(_url("transparency"), {"year": "abc"})
    assert bad.status_code == 400


# --- Both languages ----------------------------------------------------------------------


def _pages(alpha, people, line) -> dict[str, str]:
    """Every disclosure page, rendered for alpha's staff language."""
    filer, second = client_for(people["filer"]), client_for(people["second"])
    pages = {
        "list (empty)": filer.get(reverse(LIST)),
        "add": filer.get(_url("add")),
        "add refused": filer.post(_url("add"), _form("138")),
    }
    filer.post(_url("add"), _form(line[0].number))
    pk = Disclosure.objects.get().pk
    pages["list"] = filer.get(reverse(LIST))
    pages["detail, filer"] = filer.get(_url("change", pk))
    pages["detail, second"] = second.get(_url("change", pk))
    pages["four eyes refused"] = filer.post(_url("approve", pk))
    second.post(_url("approve", pk))
    pages["detail, approved"] = filer.get(_url("change", pk))
    pages["released"] = filer.post(_url("release", pk))
    pages["released twice"] = filer.post(_url("release", pk))
    pages["transparency"] = filer.get(_url("transparency"))
    return {name: response.content.decode() for name, response in pages.items()}


# English words that may show on a Chinese page: data typed in the fixture,
# codes and the product's name.
_DATA = re.compile(r"CASE-7|telereg|E\.164|TOTP|[A-Z][a-z]+/[A-Za-z_]+")


def test_the_disclosure_pages_in_chinese_leave_no_english(alpha, people, line, compiled_catalogue):
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.ZH_HANS)
    pages = _pages(alpha, people, line)
    left = {name: untranslated(html, compiled_catalogue) for name, html in pages.items()}
    assert not {name: texts for name, texts in left.items() if texts}
    for name, html in pages.items():
        page = visible(html, "zh-hans")
        assert page.html_lang == "zh-hans", name
        words = [
            chunk
            for chunk in page.chunks
            if re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{2,}", _DATA.sub("", chunk))
        ]
        assert not words, (name, words)
    assert "调取请求" in pages["list"]
    assert "一次" in pages["released"]


def test_the_disclosure_pages_in_english(alpha, people, line, compiled_catalogue):
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.EN)
    pages = _pages(alpha, people, line)
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "File a disclosure request" in pages["add"]
    assert "a second person" in pages["detail, filer"]
    assert "Shown once" in pages["released"]
    assert "Transparency report" in pages["transparency"]
