"""The subscriber side in the subscriber's language: the notice and its link,
the pages it opens, the switch, and the language chosen and changed in store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from identity.models import NoticeLanguage, Person, PersonVersion
from operators.roles import Role
from reverification import campaigns, dispatch, tokens
from tests.catalogues import ROOT, compile_catalogues
from tests.registration.test_pages import NOTICE_PARTS_ZH

pytestmark = pytest.mark.django_db


def _required_zh() -> str:
    """Django's "This field is required." in Chinese (the catalogue in force)."""
    with translation.override("zh-hans"):
        text = gettext("This field is required.")
    assert text != "This field is required."
    return text


@pytest.fixture(autouse=True)
def catalogues():
    compile_catalogues()


@pytest.fixture
def outbox(settings, tmp_path):
    settings.TELEREG_OUTBOX_DIR = tmp_path
    return tmp_path / "file.jsonl"


@pytest.fixture
def both_notices(alpha, alpha_notice, publish_notice):
    """alpha's notice in English (alpha_notice) and in Chinese."""
    return alpha_notice, publish_notice(alpha, language=NoticeLanguage.ZH, **NOTICE_PARTS_ZH)


@pytest.fixture
def launched(alpha, make_staff, submit, citizen, inventory, both_notices, outbox):
    """Launch a campaign over one line whose holder chose ``language``; returns
    the message written to the outbox."""

    def launch(language: str | None) -> dict:
        identity = dataclasses.replace(citizen(), language=language)
        submit("mobile_open", applicant=identity)
        officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
        campaign = campaigns.campaign_create(
            operator=alpha,
            data=campaigns.CampaignInput(
                name="Languages",
                criteria={"line_kind": "mobile"},
                deadline=timezone.localdate() + dt.timedelta(days=20),
                reminder_days=[7],
                channels=["file"],
            ),
            actor=officer.user,
        )
        campaigns.campaign_launch(campaign=campaign, actor=officer.user)
        campaigns.campaign_plan(campaign=campaign)
        for pk in dispatch.batches_create(campaign=campaign):
            dispatch.batch_send(batch_id=pk)
        (message,) = [json.loads(line) for line in outbox.read_text().splitlines()]
        return message

    return launch


def _path(link: str) -> str:
    return link.removeprefix("http://127.0.0.1:8000")


def _html_lang(body: str) -> str:
    return re.search(r'<html lang="([^"]+)"', body).group(1)


def _visible_text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_a_notice_to_a_person_who_chose_english_is_english_and_its_link_opens_english(
    launched, client
):
    message = launched("en")
    assert message["language"] == "en"
    assert message["text"].startswith("[Alpha Telecom] Please confirm")
    assert message["link"].endswith("?lang=en")
    response = client.get(_path(message["link"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = response.content.decode()
    assert response.status_code == 200
    assert _html_lang(body) == "en"
    assert response["Content-Language"] == "en"
    assert "<h1>Identity re-verification</h1>" in body
    assert "实名信息核验" not in body
    assert "Privacy notice" in body  # one language, not both side by side
    assert "个人信息保护告知" not in body


def test_a_notice_to_a_person_who_chose_chinese_is_chinese_and_its_link_opens_chinese(
    launched, client
):
    message = launched("zh-hans")
    assert message["language"] == "zh-hans"
    assert message["text"].startswith("【Alpha Telecom】根据实名登记规定")
    assert message["link"].endswith("?lang=zh-hans")
    response = client.get(_path(message["link"]), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert _html_lang(body) == "zh-hans"
    assert "<h1>实名信息核验</h1>" in body
    assert "Identity re-verification" not in body
    assert "个人信息保护告知" in body
    assert "Privacy notice" not in body


def test_a_person_who_chose_nothing_gets_the_default_language(launched):
    message = launched(None)
    assert message["language"] == "zh-hans"
    assert Person.objects.get().language == "zh-hans"


def test_the_link_carries_only_the_token_and_the_language(launched):
    message = launched("en")
    request_id = message["request"]
    assert message["link"] == (
        f"http://127.0.0.1:8000/r/{tokens.request_token(request_id)}?lang=en"
    )


@pytest.mark.parametrize(
    ("accept", "lang", "title"),
    [("en", "en", "Identity re-verification"), ("zh-CN,zh;q=0.9", "zh-hans", "实名信息核验")],
)
def test_without_a_language_in_the_link_the_page_follows_accept_language(
    launched, client, accept, lang, title
):
    message = launched("en")
    path = _path(message["link"]).split("?")[0]
    body = client.get(path, HTTP_ACCEPT_LANGUAGE=accept).content.decode()
    assert _html_lang(body) == lang
    assert f"<h1>{title}</h1>" in body


def test_an_unknown_language_in_the_link_is_ignored_not_an_error(launched, client):
    message = launched("en")
    path = _path(message["link"]).split("?")[0]
    for hostile in ("fr", "../../etc", "zh-hans%00", "x" * 5000):
        response = client.get(path, {"lang": hostile}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert _html_lang(response.content.decode()) == "en"


def test_the_switch_posts_to_set_language_and_the_page_then_opens_in_that_language(
    launched, client
):
    message = launched("zh-hans")
    path = _path(message["link"]).split("?")[0]
    body = client.get(_path(message["link"])).content.decode()
    # The switch offers the other language only, as a form (no script: strict CSP).
    assert 'action="/i18n/setlang/"' in body
    assert 'name="language" value="en"' in body
    assert 'name="language" value="zh-hans"' not in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script
    response = client.post("/i18n/setlang/", {"language": "en", "next": f"{path}?lang=en"})
    assert response.status_code == 302
    assert response["Location"] == f"{path}?lang=en"
    body = client.get(response["Location"]).content.decode()
    assert _html_lang(body) == "en"
    # The choice is remembered for pages whose link names no language.
    body = client.get(path, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert _html_lang(body) == "en"


def test_the_chinese_page_leaves_no_english_of_the_catalogue_and_django_speaks_chinese(
    launched, client
):
    message = launched("zh-hans")
    link = _path(message["link"])
    body = client.post(link, {"notice": "x"}).content.decode()
    assert _required_zh() in body
    assert "This field is required." not in body
    text = _visible_text(body)
    msgids = _catalogue_msgids()
    assert msgids, "the catalogue is read"
    left = [m for m in msgids if len(m) > 3 and re.search(rf"\b{re.escape(m)}\b", text)]
    assert left == []


def test_every_msgid_of_the_catalogues_is_translated_into_chinese():
    for app in ("reverification", "notices"):
        po = (ROOT / app / "locale/zh_Hans/LC_MESSAGES/django.po").read_text(encoding="utf-8")
        assert (ROOT / app / "locale/en/LC_MESSAGES/django.po").exists()
        blocks = [b for b in po.split("\n\n")[1:] if "msgid" in b]
        assert blocks
        untranslated = [
            b for b in blocks if re.search(r'^msgstr(\[0\])? ""(?!\n")', b + "\n", re.M)
        ]
        assert untranslated == []
        assert "#, fuzzy" not in po


def _catalogue_msgids() -> list[str]:
    po = Path(ROOT / "reverification/locale/zh_Hans/LC_MESSAGES/django.po").read_text("utf-8")
    ids = []
    for block in po.split("\n\n")[1:]:
        parts = re.findall(r'^(?:msgid )?"(.*)"$', block.split("msgstr")[0], re.M)
        ids.append("".join(parts).replace('\\"', '"'))
    return [i for i in ids if i]


def test_my_lines_follows_the_link_language_and_its_form_errors_are_chinese(client):
    body = client.post("/my-lines/?lang=zh-hans", {"step": "start"}).content.decode()
    assert _html_lang(body) == "zh-hans"
    assert "<h1>我名下的号码</h1>" in body
    assert _required_zh() in body
    body = client.get("/my-lines/?lang=en", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "<h1>Lines under my ID</h1>" in body


# --- In store ------------------------------------------------------------------------------


def test_the_clerk_changes_the_holders_language_and_is_recorded(
    alpha_clerk, web_client_for, open_mobile
):
    tx, _ = open_mobile()
    person = tx.line.holder
    assert person.language == "zh-hans"
    client = web_client_for(alpha_clerk)
    response = client.post(f"/store/lines/{tx.line.uid}/language/", {"language": "en"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.language == "en"
    version = PersonVersion.objects.get(person=person)
    assert version.changed_fields == ["language"]
    assert version.previous == {"language": "zh-hans"}
    assert version.actor == alpha_clerk.user
    # The same language again records nothing more.
    client.post(f"/store/lines/{tx.line.uid}/language/", {"language": "en"})
    assert PersonVersion.objects.filter(person=person).count() == 1


def test_a_bad_language_in_store_is_400_and_changes_nothing(
    alpha_clerk, web_client_for, open_mobile
):
    tx, _ = open_mobile()
    client = web_client_for(alpha_clerk)
    for bad in ("fr", "en\x00", ""):
        response = client.post(f"/store/lines/{tx.line.uid}/language/", {"language": bad})
        assert response.status_code == 400
    assert Person.objects.get(pk=tx.line.holder_id).language == "zh-hans"
    assert not PersonVersion.objects.exists()


def test_a_clerk_of_another_operator_cannot_change_the_language(
    beta, make_staff, web_client_for, open_mobile
):
    tx, _ = open_mobile()
    client = web_client_for(make_staff(beta, Role.CLERK))
    response = client.post(f"/store/lines/{tx.line.uid}/language/", {"language": "en"})
    assert response.status_code == 404
    assert Person.objects.get(pk=tx.line.holder_id).language == "zh-hans"


def test_the_line_lookup_offers_the_language_change(alpha_clerk, web_client_for, open_mobile):
    tx, _ = open_mobile()
    client = web_client_for(alpha_clerk)
    body = client.post(
        "/store/lines/", {"number": tx.line.number, "purpose": "customer_request"}
    ).content.decode()
    assert f'action="/store/lines/{tx.line.uid}/language/"' in body
