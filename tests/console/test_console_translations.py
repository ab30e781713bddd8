"""The console pages of this work (the home, adding numbers, the lists that
export) in Simplified Chinese and in English: no catalogue text left in
English on the Chinese page (project and re-verification catalogues), and
``<html lang>`` right in both (the checks of tests/test_translations.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from operators.models import Language, Operator
from operators.roles import Role
from reverification.models import Campaign, CampaignState
from tests.conftest import privileged_login
from tests.factories import StaffFactory
from tests.test_translations import catalogue_entries, untranslated, visible

pytestmark = pytest.mark.django_db

REVERIFICATION_CATALOGUE = (
    Path(settings.BASE_DIR) / "reverification" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
)


def console_pages(shop) -> dict[str, str]:
    """The pages, for the operator's staff language: name → HTML."""
    operator, _, officer = shop
    Campaign.objects.create(
        operator=operator,
        name="春季实名核验",
        deadline=timezone.localdate() + dt.timedelta(days=30),
        state=CampaignState.RUNNING,
        planned_count=3,
    )
    admin = StaffFactory(operator=operator, role=Role.OPERATOR_ADMIN)
    pages: dict[str, str] = {}
    for who, staff, names in (
        ("officer", officer, {"home": reverse("console:index")}),
        (
            "admin",
            admin,
            {
                "home": reverse("console:index"),
                "inventory": reverse("console:registration_phonenumber_changelist"),
                "add numbers": reverse("console:registration_phonenumber_load"),
                "transactions": reverse("console:registration_transaction_changelist"),
                "lines": reverse("console:registration_line_changelist"),
            },
        ),
    ):
        client = privileged_login(Client(), staff.user)
        for name, path in names.items():
            response = client.get(path)
            assert response.status_code == 200, (who, name)
            pages[f"{who}: {name}"] = response.content.decode()
        if who == "admin":
            refused = client.post(
                reverse("console:registration_phonenumber_load"),
                {"kind": "mobile", "first": "+8613900000000", "count": "0"},
            )
            assert refused.status_code == 400
            pages["admin: add numbers refused"] = refused.content.decode()
    return pages


def test_the_console_pages_in_simplified_chinese_leave_no_catalogue_text_in_english(
    shop, compiled_catalogue
):
    pages = console_pages(shop)
    apps = catalogue_entries(REVERIFICATION_CATALOGUE)
    failures = {
        name: untranslated(html, compiled_catalogue) + untranslated(html, apps)
        for name, html in pages.items()
    }
    assert not {name: left for name, left in failures.items() if left}, failures
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name
    chunks = visible(pages["officer: home"], "zh-hans").chunks
    for text in ("待处理事项", "进行中的核验活动", "待审批的更正申请", "进行中", "春季实名核验"):
        assert text in chunks
    assert "Running" not in chunks


def test_the_console_pages_in_english_say_so_in_html_lang(shop, compiled_catalogue):
    Operator.objects.filter(pk=shop[0].pk).update(default_language=Language.EN)
    pages = console_pages(shop)
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "What needs someone" in pages["officer: home"]
    assert "Campaigns under way" in pages["officer: home"]
    assert "Add numbers to the inventory" in pages["admin: add numbers"]


def test_the_second_factors_app_is_named_in_the_readers_language(shop, compiled_catalogue):
    # django-otp names its app and model in English only; the console names them.
    admin = StaffFactory(operator=shop[0], role=Role.OPERATOR_ADMIN)
    client = privileged_login(Client(), admin.user)
    chunks = visible(client.get(reverse("console:index")).content.decode(), "zh-hans").chunks
    assert "第二重认证" in chunks
    assert "动态口令设备（TOTP）" in chunks
    assert not {"OTP_TOTP", "TOTP devices"} & set(chunks)
