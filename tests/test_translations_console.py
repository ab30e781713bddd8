"""The console's campaign and correction pages (issue 12) in both languages.

The checks are tests/test_translations.py's: in zh-hans no English text of a
catalogue may be left in what a person reads, and ``<html lang>`` names the
page's language. The campaign pages speak from re-verification's catalogue
(and notices' for the channel labels) as well as the project's, so they are
read against all three, their own section included."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from identity import services as identity_services
from operators.models import Language, Operator
from operators.roles import Role
from reverification import campaigns
from tests.catalogues import ROOT
from tests.conftest import privileged_login
from tests.test_translations import (
    _as_pattern,
    _VisibleText,
    catalogue_entries,
    compiled_catalogue,  # noqa: F401 - a fixture
)

pytestmark = pytest.mark.django_db

SUBSCRIBER_APP_CATALOGUES = ("reverification", "notices")


class _ConsoleText(_VisibleText):
    """The visible text of a console page, the subscriber apps' sections
    included (they are what these pages are about)."""

    NOT_THIS_CATALOGUE = {"undertaking-text"}


def untranslated_text(html: str, catalogue: dict[str, str]) -> list[str]:
    parser = _ConsoleText("zh-hans")
    parser.feed(html)
    # A message template's placeholders ({operator}, {link}) are syntax, not English.
    text = re.sub(r"\{\w+\}", "", "\n".join(parser.chunks))
    return sorted(
        msgid
        for msgid, msgstr in catalogue.items()
        if msgstr and msgstr != msgid and _as_pattern(msgid).search(text)
    )


def html_lang(html: str) -> str | None:
    parser = _ConsoleText("")
    parser.feed(html)
    return parser.html_lang


@pytest.fixture
def catalogue(compiled_catalogue):  # noqa: F811
    """The project catalogue and the subscriber apps' ones, together."""
    merged = dict(compiled_catalogue)
    for app in SUBSCRIBER_APP_CATALOGUES:
        merged.update(catalogue_entries(ROOT / app / "locale/zh_Hans/LC_MESSAGES/django.po"))
    return merged


@pytest.fixture
def console_pages(alpha, make_staff, open_mobile, make_identity, register, alpha_clerk):
    """Every console page of this change, rendered for alpha's staff language:
    name → HTML."""

    def render() -> dict[str, str]:
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        for number, store in enumerate(alpha.stores.order_by("pk"), start=1):
            store.name = f"朝阳第{number}营业厅"  # data, in the staff's language
            store.save(update_fields=["name"])
        for _ in range(2):
            open_mobile()
        draft = campaigns.campaign_create(
            operator=alpha,
            data=campaigns.CampaignInput(
                name="旧预付费用户核验",
                criteria={"line_kind": "mobile", "holder_verification": {"older_than_days": 90}},
                deadline=timezone.localdate() + dt.timedelta(days=30),
                reminder_days=[14, 7, 2],
                channels=["sms", "file"],
            ),
            actor=officer.user,
        )
        launched = campaigns.campaign_create(
            operator=alpha,
            data=campaigns.CampaignInput(
                name="全部号码核验",
                criteria={
                    "line_kind": "any",
                    "registered_before": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
                },
                deadline=timezone.localdate() + dt.timedelta(days=30),
                reminder_days=[7],
                channels=["file"],
            ),
            actor=officer.user,
        )
        campaigns.campaign_launch(campaign=launched, actor=officer.user)
        campaigns.campaign_plan(campaign=launched)
        correction = identity_services.correction_request_create(
            person=register(make_identity()),
            values={"address": "北京市海淀区新地址2号"},
            actor=alpha_clerk.user,
        )
        client = privileged_login(Client(), officer.user)
        paths = {
            "campaign list": reverse("console:reverification_campaign_changelist"),
            "campaign add": reverse("console:reverification_campaign_add"),
            "campaign draft": reverse("console:reverification_campaign_change", args=[draft.pk]),
            "campaign launched": reverse(
                "console:reverification_campaign_change", args=[launched.pk]
            ),
            "launch confirmation": reverse(
                "console:reverification_campaign_launch", args=[draft.pk]
            ),
            "correction list": reverse("console:identity_correctionrequest_changelist"),
            "correction": reverse(
                "console:identity_correctionrequest_change", args=[correction.pk]
            ),
        }
        pages = {}
        for name, path in paths.items():
            response = client.get(path)
            assert response.status_code == 200, (name, response.status_code)
            pages[name] = response.content.decode()
        response = client.post(reverse("console:reverification_campaign_add"), {"name": "x"})
        assert response.status_code == 200
        pages["campaign add, refused"] = response.content.decode()
        response = client.post(paths["correction"], {"decision": "refuse", "note": ""})
        assert response.status_code == 400
        pages["correction, refused"] = response.content.decode()
        return pages

    return render


def test_the_campaign_and_correction_pages_in_chinese_leave_nothing_in_english(
    alpha, console_pages, catalogue
):
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.ZH_HANS)
    pages = console_pages()
    left = {name: untranslated_text(html, catalogue) for name, html in pages.items()}
    assert not {name: texts for name, texts in left.items() if texts}
    for name, html in pages.items():
        assert html_lang(html) == "zh-hans", name
    assert "确认启动活动“旧预付费用户核验”？" in pages["launch confirmation"]
    assert "发件箱文件（测试与演示用）" in pages["campaign add"]
    assert "拟更正为" in pages["correction"]


def test_the_same_pages_in_english_say_so_and_show_labels_not_codes(
    alpha, console_pages, catalogue
):
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.EN)
    pages = console_pages()
    for name, html in pages.items():
        assert html_lang(html) == "en", name
    assert "Launch the campaign “旧预付费用户核验”?" in pages["launch confirmation"]
    launched = "\n".join(_chunks(pages["campaign launched"]))
    assert "Running" in launched
    assert "Kinds of line: any" in launched
    assert not re.search(r"\b(running|pending|any|file)\b(?!:)", _table_cells(pages)), "raw codes"


def _chunks(html: str) -> list[str]:
    parser = _ConsoleText("en")
    parser.feed(html)
    return parser.chunks


def _table_cells(pages: dict[str, str]) -> str:
    """The text of the list pages' cells (where codes would show as values)."""
    cells = []
    for name in ("campaign list", "correction list"):
        cells += re.findall(r"<td[^>]*>(.*?)</td>", pages[name], re.S)
    return "\n".join(re.sub(r"<[^>]+>", " ", cell) for cell in cells)
