"""Every state of the subscriber pages in Simplified Chinese and in English:
no catalogue text left in English on the Chinese page, no Chinese of the
catalogues on the English one, and ``<html lang>`` right (issue 12).

The pages speak from the project catalogue and reverification's own; both
are read (tests/test_translations.py's helpers, against the two merged)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.catalogues import ROOT, compile_catalogues
from tests.reverification.subscriber_states import answer_link, my_lines_pages
from tests.test_translations import (  # noqa: F401 - compiled_catalogue is a fixture
    NOTICE_PARTS_ZH,
    catalogue_entries,
    compiled_catalogue,
    untranslated,
    visible,
)

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def catalogue(request) -> dict[str, str]:
    """msgid → Chinese of the project catalogue and reverification's."""
    project = request.getfixturevalue("compiled_catalogue")
    own = catalogue_entries(ROOT / "reverification/locale/zh_Hans/LC_MESSAGES/django.po")
    return {**project, **own}


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    return tmp_path / "file.jsonl"


@pytest.fixture
def subscriber_pages(alpha, make_staff, open_mobile, outbox, alpha_notice, publish_notice):
    """language → page name → HTML, for /r/<token> and every /my-lines/ state."""
    publish_notice(alpha, language="zh-hans", **NOTICE_PARTS_ZH)
    path, line = answer_link(alpha, make_staff, open_mobile, outbox)
    holder_tx, holder = open_mobile()
    pages: dict[str, dict[str, str]] = {}
    for lang in ("zh-hans", "en"):
        answer = Client().get(f"{path}?lang={lang}").content.decode()
        refused = Client().post(f"{path}?lang={lang}", {"notice": "x"}).content.decode()
        mine = my_lines_pages(holder, str(holder_tx.line.uid), outbox, lang=lang)
        pages[lang] = {"answer": answer, "answer refused": refused, **mine}
    return pages


def chinese_of_the_catalogue(html: str, catalogue: dict[str, str]) -> list[str]:
    """The catalogues' Chinese texts that show on an English page."""
    text = "\n".join(visible(html, "en").chunks)
    return sorted(
        msgstr
        for msgstr in set(catalogue.values())
        if len(msgstr) > 1 and CJK.search(msgstr) and msgstr in text
    )


def test_every_subscriber_page_in_chinese_leaves_no_catalogue_text_in_english(
    subscriber_pages, catalogue
):
    pages = subscriber_pages["zh-hans"]
    left = {name: untranslated(html, catalogue) for name, html in pages.items()}
    assert {name: texts for name, texts in left.items() if texts} == {}
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name


def test_every_subscriber_page_in_english_shows_no_chinese_of_the_catalogues(
    subscriber_pages, catalogue
):
    pages = subscriber_pages["en"]
    left = {name: chinese_of_the_catalogue(html, catalogue) for name, html in pages.items()}
    assert {name: texts for name, texts in left.items() if texts} == {}
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name


def test_each_my_lines_state_was_reached(subscriber_pages):
    for lang, pages in subscriber_pages.items():
        assert 'id="state-ask"' in pages["ask"], lang
        assert 'id="sent-to"' in pages["code"], lang
        assert 'id="my-lines"' in pages["lines"], lang
        assert 'id="confirm-not-mine"' in pages["dispute"], lang
        assert 'id="next-steps"' in pages["reported"], lang
        assert 'id="send-correction"' in pages["correct"], lang
        assert 'id="corrected"' in pages["corrected"], lang
        assert 'class="field-error"' in pages["dispute refused"], lang
        assert 'class="field-error"' in pages["correct refused"], lang
