"""The receipt of a recycled number (issue 13) in both languages: the line
saying the number was used before is translated (no catalogue text left in
English in zh-hans, tests/test_translations.py's check) and ``<html lang>``
names the page's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from operators.models import Language
from registration import closing
from registration.models import CloseReason, Transaction
from tests import test_translations as translations
from tests.conftest import privileged_login
from tests.test_translations import _set_language, untranslated, visible
from tests.test_translations_counter import _take

pytestmark = pytest.mark.django_db

shop = translations.shop
compiled_catalogue = translations.compiled_catalogue


def recycled_receipt(shop, citizen, settings) -> str:
    """The receipt of a new holder given a number that an earlier line closed with."""
    settings.TELEREG_QUARANTINE_DAYS = 0
    _, clerk, _ = shop
    first = _take(clerk, {"kind": "mobile_open", "applicant": citizen()})
    closing.line_close(line=first.line, reason=CloseReason.OTHER, actor=None)
    closing.numbers_release_due(now=timezone.now() + dt.timedelta(seconds=1))
    second: Transaction = _take(
        clerk, {"kind": "mobile_open", "applicant": citizen(), "number": first.line.number}
    )
    assert second.line.recycled_at is not None
    client = privileged_login(Client(), clerk.user)
    response = client.get(reverse("registration:receipt", kwargs={"uid": second.uid}))
    assert response.status_code == 200
    return response.content.decode()


def test_the_recycled_numbers_receipt_in_simplified_chinese_is_translated(
    shop, citizen, settings, compiled_catalogue
):
    html = recycled_receipt(shop, citizen, settings)
    assert untranslated(html, compiled_catalogue) == []
    page = visible(html, "zh-hans")
    assert page.html_lang == "zh-hans"
    text = "\n".join(page.chunks)
    assert "二次放号" in text
    assert "号码历史" in text


def test_the_recycled_numbers_receipt_in_english_says_the_number_was_used_before(
    shop, citizen, settings, compiled_catalogue
):
    _set_language(shop[0], Language.EN)
    shop[0].refresh_from_db()
    html = recycled_receipt(shop, citizen, settings)
    page = visible(html, "en")
    assert page.html_lang == "en"
    text = "\n".join(page.chunks)
    assert "This number was used before" in text
    assert "二次放号" not in text
