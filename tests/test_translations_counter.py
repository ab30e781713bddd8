"""The counter's follow-up pages (issue 12) in both languages: the receipt with
its parties and services, its public check (genuine, not genuine, throttled),
the filtered and paged transactions list with its errors, the line's history
and the correction form. In zh-hans no catalogue text may be left in English
(tests/test_translations.py's check), and ``<html lang>`` names the page's
language in both."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from identity.models import NoticeLanguage, PrivacyNotice
from identity.services import ConsentInput
from operators.models import Language
from registration import receipts
from registration.models import Service, Transaction, TransactionState
from registration.services import TransactionRequest, transaction_submit
from tests import test_translations as translations
from tests.conftest import privileged_login
from tests.test_translations import _set_language, untranslated, visible

pytestmark = pytest.mark.django_db

# The fixtures of tests/test_translations.py (an operator speaking Chinese with
# its notices, numbers and staff; the compiled project catalogue), reused.
shop = translations.shop
compiled_catalogue = translations.compiled_catalogue


def _take(clerk, request_fields: dict) -> Transaction:
    notice = PrivacyNotice.objects.get(
        operator=clerk.operator, language=NoticeLanguage.ZH, published_at__isnull=False
    )
    return transaction_submit(
        actor=clerk.user,
        request=TransactionRequest(
            consent=ConsentInput(notice_hash=notice.content_hash, given=True), **request_fields
        ),
    )


def counter_pages(shop, citizen) -> dict[str, str]:
    """Every page this work added or changed, for the operator's staff
    language (and the public check in the same language): name → HTML."""
    operator, clerk, _ = shop
    language = operator.default_language
    Service.objects.create(
        operator=operator, code="roaming", name="国际漫游", line_kinds=["mobile"]
    )
    holder, new_holder = citizen(), citizen()
    opened = _take(clerk, {"kind": "mobile_open", "applicant": holder})
    added = _take(
        clerk,
        {
            "kind": "service_add",
            "applicant": holder,
            "line": opened.line.number,
            "service": "roaming",
        },
    )
    moved = _take(
        clerk,
        {
            "kind": "mobile_transfer",
            "holder": holder,
            "new_holder": new_holder,
            "line": opened.line.number,
        },
    )
    assert {tx.state for tx in (opened, added, moved)} == {TransactionState.COMPLETED}
    pages: dict[str, str] = {}

    def keep(name: str, response, status: int = 200) -> None:
        assert response.status_code == status, (name, response.status_code)
        pages[name] = response.content.decode()

    client = privileged_login(Client(), clerk.user)
    for name, tx in (("receipt service", added), ("receipt transfer", moved)):
        keep(name, client.get(reverse("registration:receipt", kwargs={"uid": tx.uid})))
    listing = reverse("registration:transactions")
    keep("transactions", client.get(listing))
    keep(
        "transactions filtered", client.get(listing, {"kind": "service_add", "state": "completed"})
    )
    keep("transactions none", client.get(listing, {"reference": "NOTHING"}))
    keep(
        "transactions errors",
        client.get(listing, {"date_from": "2026-02-30", "date_to": "x", "kind": "nope"}),
        400,
    )
    keep(
        "transactions date order",
        client.get(listing, {"date_from": "2026-05-02", "date_to": "2026-05-01"}),
        400,
    )
    keep("lines result", client.post(reverse("registration:lines"), {"number": opened.number}))
    correction = reverse("registration:correction-line", kwargs={"uid": opened.line.uid})
    keep("correction", client.get(correction))
    keep("correction errors", client.post(correction, {"field": "id_number", "value": ""}), 400)
    keep(
        "correction bad date",
        client.post(correction, {"field": "date_of_birth", "value": "1990-02-30"}),
        400,
    )
    response = client.post(correction, {"field": "address", "value": "北京市海淀区样例街9号"})
    assert response.status_code == 302
    keep("lines after correction", client.get(reverse("registration:lines")))

    public = Client(HTTP_ACCEPT_LANGUAGE=language)
    path = receipts.receipt_check_url(moved).removeprefix("http://127.0.0.1:8000")
    keep("check genuine", public.get(path))
    keep("check not genuine", public.get(path[:-2] + "x/"), 404)
    return pages


def test_the_counter_pages_in_simplified_chinese_leave_no_catalogue_text_in_english(
    shop, citizen, compiled_catalogue
):
    pages = counter_pages(shop, citizen)
    failures = {
        name: texts
        for name, html in pages.items()
        if (texts := untranslated(html, compiled_catalogue))
    }
    assert not failures, repr(failures)
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name
    text = {name: "\n".join(visible(html, "zh-hans").chunks) for name, html in pages.items()}
    assert "用户签名" in text["receipt transfer"]
    assert "原机主" in text["receipt transfer"]
    assert "营业厅地址" in text["receipt service"]
    assert "核验通过" in text["check genuine"]
    assert "核验未通过" in text["check not genuine"]
    assert "号码业务记录" in text["lines result"]
    assert "截止日期早于起始日期。" in text["transactions date order"]
    assert "该项目不可更正。" in text["correction errors"]
    for name in pages:
        # No raw codes where a label belongs.
        assert "service_add" not in text[name], name
        assert "mobile_transfer" not in text[name], name
        assert "completed" not in text[name], name


def test_the_counter_pages_in_english_say_so_in_html_lang(shop, citizen, compiled_catalogue):
    _set_language(shop[0], Language.EN)
    shop[0].refresh_from_db()
    pages = counter_pages(shop, citizen)
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "Subscriber's signature" in "\n".join(visible(pages["receipt transfer"], "en").chunks)
    assert "Genuine" in pages["check genuine"]
    assert "用户签名" not in pages["receipt transfer"]


def test_the_throttled_receipt_check_speaks_both_languages(shop, citizen, settings):
    settings.TELEREG_RECEIPT_CHECK_LIMIT = 0
    for language, text in (("zh-hans", "核验次数过多"), ("en", "Too many checks")):
        response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/receipt-check/X/y:z/")
        assert response.status_code == 429
        page = response.content.decode()
        assert visible(page, language).html_lang == language
        assert text in page


def test_the_receipt_check_follows_the_lang_of_its_link(shop, citizen, compiled_catalogue):
    _, clerk, _ = shop
    tx = _take(clerk, {"kind": "mobile_open", "applicant": citizen()})
    path = receipts.receipt_check_url(tx).removeprefix("http://127.0.0.1:8000")
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(path + "?lang=en").content.decode()
    assert visible(page, "en").html_lang == "en"
    assert "Genuine" in page
