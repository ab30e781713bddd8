"""Staff pages and the console in Simplified Chinese first (issue 12).

Every staff page is rendered in zh-hans and in en. In zh-hans, no English
text of the project catalogue (locale/zh_Hans/LC_MESSAGES/django.po) may be
left in what a person reads: any msgid with a translation that still shows
untranslated is a string a template or view forgot to pass through gettext.
``<html lang>`` must name the page's language. Then the operator's staff
language, the staff member's own choice and the language switch."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from identity import services as identity_services
from identity.models import NoticeLanguage
from operators.models import Language, Operator, StaffMember
from operators.roles import Role
from registration.models import LineKind, PhoneNumber, Transaction
from tests.conftest import NOTICE_PARTS_EN, otp_device_for, privileged_login
from tests.factories import OperatorFactory, StaffFactory, StoreFactory
from tests.helpers import identity_form_fields

pytestmark = pytest.mark.django_db

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
NOTICE_PARTS_ZH = {
    "purpose": "依法登记电话用户真实身份信息。",
    "manner": "在营业厅或线上根据您的身份证件采集。",
    "scope": "姓名、出生日期、性别、证件类型和号码、住址。",
    "retention": "在您使用号码期间及最后一个号码注销后两年内保存。",
    "query_and_correction": "可在任一营业厅或自助页面查询和更正。",
    "consequences_of_refusal": "拒绝提供将无法为您办理入网或变更业务。",
}
MOBILE_FIRST = 13800138000


# --- The catalogue -----------------------------------------------------------------------------


def catalogue_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr of a .po file (plural entries by their singular)."""
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key = ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        match = re.match(
            r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[0\])?|msgstr\[\d+\]) (".*")$', line
        )
        if match:
            key = match.group(1)
            current[key] = ast.literal_eval(match.group(2))
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        elif not line.strip():
            if current.get("msgid"):
                entries[current["msgid"]] = current.get("msgstr", current.get("msgstr[0]", ""))
            current, key = {}, ""
    return entries


@pytest.fixture(scope="session")
def compiled_catalogue(django_db_blocker):
    """The .mo files exist (make messages builds them before pytest); compiled
    here once if a run started without it."""
    mo = CATALOGUE.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < CATALOGUE.stat().st_mtime:
        call_command(
            "compilemessages", locale=["zh_Hans", "en"], ignore=[".venv", "var"], verbosity=0
        )
    assert mo.exists()
    return catalogue_entries(CATALOGUE)


def _as_pattern(msgid: str) -> re.Pattern[str]:
    """A msgid as it can appear in a page: placeholders stand for any text,
    and it is a whole word or phrase (``ok`` is not the end of ``Look``, nor
    ``user`` the start of the username ``user0``)."""
    parts = re.split(r"%\(\w+\)[sd]", msgid)
    body = ".+?".join(re.escape(part) for part in parts)
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])")


class _VisibleText(HTMLParser):
    """The text a person reads (text nodes, button and submit labels), leaving
    out scripts, styles and whatever is marked as another language (a privacy
    notice shown in its own language)."""

    # The console's sections of the subscriber-side apps speak from their own
    # catalogues (reverification/locale, notices/locale); the undertaking's body
    # is a published, versioned document (data), not a catalogue text.
    NOT_THIS_CATALOGUE = {"app-reverification", "app-notices", "undertaking-text"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self, page_language: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_language = page_language
        self.stack: list[tuple[str, bool]] = []
        self.chunks: list[str] = []
        self.html_lang: str | None = None

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.html_lang = attributes.get("lang")
        if tag == "input" and attributes.get("type") == "submit" and not self._hidden():
            self.chunks.append(attributes.get("value") or "")
        if tag in self.VOID:
            return
        lang = attributes.get("lang")
        classes = set((attributes.get("class") or "").split())
        hidden = (
            tag in ("script", "style")
            or (lang is not None and tag != "html" and lang != self.page_language)
            or bool(classes & self.NOT_THIS_CATALOGUE)
        )
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.chunks.append(" ".join(data.split()))


def visible(html: str, language: str) -> _VisibleText:
    parser = _VisibleText(language)
    parser.feed(html)
    return parser


def untranslated(html: str, catalogue: dict[str, str]) -> list[str]:
    """The catalogue's English texts that show untranslated in a zh-hans page."""
    text = "\n".join(visible(html, "zh-hans").chunks)
    return sorted(
        msgid
        for msgid, msgstr in catalogue.items()
        if msgstr and msgstr != msgid and _as_pattern(msgid).search(text)
    )


# --- Pages ---------------------------------------------------------------------------------------


@pytest.fixture
def shop(db):
    """An operator whose names are Chinese (data, not catalogue texts), with
    notices, numbers, a clerk and a compliance officer."""
    operator = OperatorFactory(code="zh-op", name="华通电信")
    operator.default_language = Language.ZH_HANS
    operator.save(update_fields=["default_language"])
    store = StoreFactory(operator=operator, code="cy01", name="朝阳营业厅")
    for language, parts in (
        (NoticeLanguage.ZH, NOTICE_PARTS_ZH),
        (NoticeLanguage.EN, NOTICE_PARTS_EN),
    ):
        draft = identity_services.notice_draft_create(
            operator=operator, language=language, parts=parts
        )
        identity_services.notice_publish(notice=draft, actor=None)
    PhoneNumber.objects.bulk_create(
        PhoneNumber(operator=operator, number=f"+86{MOBILE_FIRST + n}", kind=LineKind.MOBILE)
        for n in range(3)
    )
    clerk = StaffFactory(operator=operator, store=store, role=Role.CLERK)
    officer = StaffFactory(operator=operator, role=Role.COMPLIANCE_OFFICER)
    return operator, clerk, officer


def _set_language(operator: Operator, language: str) -> None:
    Operator.objects.filter(pk=operator.pk).update(default_language=language)


def staff_pages(shop, citizen) -> dict[str, str]:
    """Every staff page touched by the issue, rendered for the operator's staff
    language: name → HTML."""
    operator, clerk, officer = shop
    pages: dict[str, str] = {}

    def get(client: Client, name: str, path: str, **extra):
        response = client.get(path, **extra)
        assert response.status_code == 200, (name, response.status_code)
        pages[name] = response.content.decode()
        return response

    anonymous = Client()
    language = Operator.objects.get(pk=operator.pk).default_language
    get(anonymous, "sign-in", reverse("operators:login"), HTTP_ACCEPT_LANGUAGE=language)

    unverified = Client()
    otp_device_for(officer.user)
    unverified.force_login(officer.user, backend="django.contrib.auth.backends.ModelBackend")
    get(unverified, "code step", reverse("operators:second-factor"))

    newcomer = StaffFactory(operator=operator, store=clerk.store, role=Role.CLERK, accepted=False)
    fresh = Client()
    fresh.force_login(newcomer.user, backend="django.contrib.auth.backends.ModelBackend")
    get(fresh, "undertaking", reverse("operators:undertaking"))

    counter = privileged_login(Client(), clerk.user)
    get(counter, "dashboard", "/")
    get(counter, "store home", reverse("registration:index"))
    kind = "mobile_open"
    step = lambda name: reverse(f"registration:{name}", kwargs={"kind": kind})  # noqa: E731
    get(counter, "wizard identity", step("identity"))
    identity = citizen()
    assert (
        counter.post(
            step("identity"), identity_form_fields(identity, prefix="applicant-")
        ).status_code
        == 302
    )
    notice_hash = get(counter, "wizard notice", step("notice")).context["notices"][0].content_hash
    response = counter.post(
        step("notice"), {"notice": notice_hash, "consent": "on", "action": "consent"}
    )
    assert response.status_code == 302
    get(counter, "wizard details", step("details"))
    assert counter.post(step("details"), {"number": ""}).status_code == 302
    get(counter, "wizard confirm", step("confirm"))
    response = counter.post(step("confirm"))
    assert response.status_code == 302, response.content.decode()[:2000]
    tx = Transaction.objects.get(staff=clerk.user)
    get(counter, "receipt", reverse("registration:receipt", kwargs={"uid": tx.uid}))
    get(counter, "transactions", reverse("registration:transactions"))
    get(counter, "lines look-up", reverse("registration:lines"))
    response = counter.post(reverse("registration:lines"), {"number": tx.line.number})
    assert response.status_code == 200
    pages["lines result"] = response.content.decode()

    console = privileged_login(Client(), officer.user)
    get(console, "console index", reverse("console:index"))
    get(console, "console changelist", reverse("console:registration_transaction_changelist"))
    return pages


def test_every_staff_page_in_simplified_chinese_has_no_catalogue_text_left_in_english(
    shop, citizen, compiled_catalogue
):
    pages = staff_pages(shop, citizen)
    left = {name: untranslated(html, compiled_catalogue) for name, html in pages.items()}
    failures = {name: texts for name, texts in left.items() if texts}
    assert not failures, repr(failures)
    for name, html in pages.items():
        assert visible(html, "zh-hans").html_lang == "zh-hans", name


def test_every_staff_page_in_english_says_so_in_html_lang(shop, citizen, compiled_catalogue):
    _set_language(shop[0], Language.EN)
    pages = staff_pages(shop, citizen)
    for name, html in pages.items():
        assert visible(html, "en").html_lang == "en", name
    assert "Store counter" in pages["store home"]
    assert "营业厅柜台" not in pages["store home"]


def test_the_catalogue_translates_every_message_and_names_its_language(compiled_catalogue):
    assert compiled_catalogue, "the project catalogue is empty"
    assert [msgid for msgid, msgstr in compiled_catalogue.items() if not msgstr] == []
    header = CATALOGUE.read_text(encoding="utf-8")
    assert '"Language: zh_Hans\\n"' in header
    assert (Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po").exists()


def test_codes_are_shown_by_their_labels_on_the_receipt_and_the_line(
    shop, citizen, compiled_catalogue
):
    pages = staff_pages(shop, citizen)
    receipt = "\n".join(visible(pages["receipt"], "zh-hans").chunks)
    assert "移动电话开户" in receipt
    assert "已完成" in receipt
    assert "mobile_open" not in receipt
    assert "completed" not in receipt
    line = "\n".join(visible(pages["lines result"], "zh-hans").chunks)
    assert "正常" in line
    assert "active" not in line


# --- Defaults, the staff member's choice, the switch ---------------------------------------------


def test_base_settings_speak_simplified_chinese_first():
    from config.settings import base

    assert base.LANGUAGE_CODE == "zh-hans"
    assert base.LANGUAGES[0][0] == "zh-hans"
    assert base.USE_I18N is True
    assert base.LOCALE_PATHS == [Path(base.BASE_DIR) / "locale"]
    order = base.MIDDLEWARE
    locale = order.index("django.middleware.locale.LocaleMiddleware")
    assert order.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < order.index("django.middleware.common.CommonMiddleware")
    staff_language = order.index("operators.middleware.StaffLanguageMiddleware")
    assert staff_language > order.index("django.contrib.auth.middleware.AuthenticationMiddleware")
    assert staff_language > locale


def test_a_new_operator_defaults_to_simplified_chinese_under_the_base_language(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    operator = Operator.objects.create(code="fresh", name="新运营商")
    operator.refresh_from_db()
    assert operator.default_language == "zh-hans"


def test_staff_pages_follow_the_operators_staff_language(shop, compiled_catalogue):
    operator, clerk, _ = shop
    client = privileged_login(Client(), clerk.user)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "营业厅柜台" in page
    _set_language(operator, Language.EN)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="en">' in page
    assert "Store counter" in page


def test_a_staff_members_own_language_wins_over_the_operators(shop, compiled_catalogue):
    _, clerk, _ = shop
    StaffMember.objects.filter(pk=clerk.pk).update(language=Language.EN)
    client = privileged_login(Client(), clerk.user)
    page = client.get(reverse("registration:index")).content.decode()
    assert '<html lang="en">' in page
    assert "Store counter" in page


def test_the_language_switch_saves_the_staff_members_choice(shop, compiled_catalogue):
    _, clerk, _ = shop
    client = privileged_login(Client(), clerk.user)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/store/"})
    assert response.status_code == 302
    assert response["Location"] == "/store/"
    clerk.refresh_from_db()
    assert clerk.language == "en"
    # Another browser (no language cookie) of the same person: still English.
    elsewhere = privileged_login(Client(), clerk.user)
    page = elsewhere.get(reverse("registration:index")).content.decode()
    assert '<html lang="en">' in page


def test_the_language_switch_refuses_an_unknown_language_and_changes_nothing(shop):
    _, clerk, _ = shop
    client = privileged_login(Client(), clerk.user)
    for language in ("xx", "zh-hans\x00", "en" * 40):
        response = client.post(reverse("set_language"), {"language": language, "next": "/"})
        assert response.status_code in (302, 400)
        assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    clerk.refresh_from_db()
    assert clerk.language == ""


def test_a_staff_member_cannot_set_another_staff_members_language(shop):
    from operators.services import staff_language_set

    _, clerk, officer = shop
    assert staff_language_set(staff=clerk, language="en", actor=officer.user) is False
    clerk.refresh_from_db()
    assert clerk.language == ""


def test_the_switch_is_a_post_form_on_staff_pages_and_the_console(shop, compiled_catalogue):
    _, clerk, officer = shop
    for staff, path in (
        (clerk, "/"),
        (clerk, reverse("registration:index")),
        (officer, "/console/"),
    ):
        page = privileged_login(Client(), staff.user).get(path).content.decode()
        form = re.search(r'<form method="post" action="/i18n/setlang/"[^>]*>.*?</form>', page, re.S)
        assert form, path
        assert 'name="csrfmiddlewaretoken"' in form.group(0)
        assert 'value="en"' in form.group(0)
        assert "<script>" not in page
        assert "onclick" not in form.group(0)


def test_the_switch_names_each_language_in_that_language(db, compiled_catalogue):
    # A reader who does not understand the page's language still finds theirs.
    page = Client().get(reverse("operators:login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content
    assert '<button class="link" name="language" value="en" lang="en">English</button>' in (
        page.decode()
    )
    page = Client().get(reverse("operators:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'value="zh-hans" lang="zh-hans">简体中文</button>' in page


def test_the_sign_in_page_follows_the_browser_and_the_switch(db, compiled_catalogue):
    client = Client()
    page = client.get(reverse("operators:login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/sign-in/"})
    page = client.get(reverse("operators:login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_the_console_speaks_the_staff_language_django_admin_included(shop, compiled_catalogue):
    _, _, officer = shop
    page = privileged_login(Client(), officer.user).get("/console/").content.decode()
    assert '<html lang="zh-hans"' in page
    assert "telereg 管理控制台" in page
    assert "注销" in page  # Django's own "Log out", from Django's catalogue


def test_the_api_answers_in_the_requests_language_with_unchanged_codes(
    shop, api_client_for, compiled_catalogue
):
    _, clerk, _ = shop
    client = api_client_for(clerk)
    missing = "/api/v1/lines/%2B8613999999999/"
    zh = client.get(missing, HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = client.get(missing, HTTP_ACCEPT_LANGUAGE="en")
    assert zh.status_code == en.status_code == 404
    assert zh.json()["error"]["code"] == en.json()["error"]["code"]
    assert zh.json()["error"]["message"] != en.json()["error"]["message"]


def test_the_subscriber_pages_carry_no_staff_language_switch(db):
    # They carry the subscriber's own switch (identity/_language_switch.html),
    # never the staff header's, which also saves a staff member's choice.
    page = Client().get("/my-lines/").content.decode()
    assert "inline language-switch" not in page
    assert 'action="/i18n/setlang/"' in page  # its own switch


def test_an_operator_admin_sets_the_operators_staff_language_in_the_console(shop):
    operator, _, _ = shop
    admin = StaffFactory(operator=operator, role=Role.OPERATOR_ADMIN)
    client = privileged_login(Client(), admin.user)
    url = reverse("console:operators_operator_change", args=[operator.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: form[name].value() if form[name].value() is not None else "" for name in form.fields
    }
    data["reverification_reminder_days"] = "[14, 7, 2]"
    data["default_language"] = "en"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    operator.refresh_from_db()
    assert operator.default_language == "en"
