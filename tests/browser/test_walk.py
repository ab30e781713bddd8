"""The walk (issue 12, "Done when"): a clerk opens a mobile account and
transfers a line, looks the line up; a compliance officer signs in with the
second factor, decides a correction and launches a campaign; the holder
answers the notice on ``/r/<token>`` and opens ``/my-lines/``: in Simplified
Chinese and in English.

At each step the page's content is asserted, ``<html lang>`` names the walk's
language, a zh-hans page shows no catalogue text left in English
(``tests/test_translations.py``), axe-core finds nothing serious or critical
(``tests/browser/axe.py``; under the page's own Content-Security-Policy, which
reports no violation), and a full-page screenshot goes to
``var/screenshots/<language>/<nn>-<step>.png`` for people to look at. Only
synthetic identities appear (tests/factories.py).

A walk is a list of steps (``STEPS``), each a function of the :class:`Walk`;
adding one (the store-side correction, the console home page) is one function
and one line in the list."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone, translation

from identity import services as identity_services
from identity.models import CorrectionRequest, CorrectionStatus, NoticeLanguage
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.models import Operator
from operators.roles import Role
from registration.models import Line, LineKind, PhoneNumber, Transaction, TransactionState
from registration.services import TransactionRequest, transaction_submit
from reverification import campaigns, dispatch
from reverification.models import Campaign, CampaignState, RequestState, ReverificationRequest
from tests.browser.axe import assert_accessible
from tests.browser.test_csp import WATCH
from tests.browser.test_registration import NOTICE_PARTS_ZH
from tests.conftest import NOTICE_PARTS_EN, otp_device_for, totp_code
from tests.factories import PASSWORD, OperatorFactory, StoreFactory
from tests.test_translations import (  # the fixture compiles the project catalogue
    catalogue_entries,
    compiled_catalogue,  # noqa: F401
    untranslated,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("compiled_catalogue"),
]

ROOT = Path(django_settings.BASE_DIR)
SCREENSHOTS = Path(django_settings.VAR_DIR) / "screenshots"
CATALOGUES = {
    # Staff pages and the console speak from the project catalogue; the
    # subscriber pages from their app's own (reverification/locale).
    "staff": ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
    "subscriber": ROOT / "reverification" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po",
}
# What the browser asks for (Accept-Language) in each walk.
BROWSER_LOCALES = {"zh-hans": "zh-CN", "en": "en-US"}
FIRST_NUMBER = 13800138000


def _(msgid: str, language: str) -> str:
    """The catalogue's text in the walk's language (what a page must show)."""
    with translation.override(language):
        return translation.gettext(msgid)


@dataclass
class Walk:
    """One walk through the product in one language: its page, the people
    and things it meets, and the steps looked at so far."""

    page: object
    language: str
    shots: Path
    clerk: object
    officer: object
    citizen: Callable[..., IdentityData]
    outbox: Path
    context: dict = field(default_factory=dict)
    taken: list[str] = field(default_factory=list)

    def t(self, msgid: str) -> str:
        return _(msgid, self.language)

    def text(self, selector: str) -> str:
        return " ".join((self.page.text_content(selector) or "").split())

    def look(self, step: str, *, side: str = "staff") -> None:
        """The page as it is now: its language, no English left on a Chinese
        page, nothing serious for axe; then its screenshot."""
        where = f"{self.language} {step}"
        assert self.page.get_attribute("html", "lang") == self.language, where
        if self.language == "zh-hans":
            left = untranslated(self.page.content(), catalogue(side))
            assert left == [], (where, left)
        assert_accessible(self.page, where)
        # The page kept its strict policy and broke none of it, axe's run included.
        assert self.page.evaluate("window.__cspViolations") == [], where
        self.taken.append(step)
        self.page.screenshot(path=self.shots / f"{len(self.taken):02d}-{step}.png", full_page=True)


_catalogues: dict[str, dict[str, str]] = {}


def catalogue(side: str) -> dict[str, str]:
    if side not in _catalogues:
        _catalogues[side] = catalogue_entries(CATALOGUES[side])
    return _catalogues[side]


# --- The counter --------------------------------------------------------------------------------


def enter(page, selector: str, value: str) -> None:
    """Type into a text field or choose in a list, whichever the page has
    (the nationality may become a list of countries)."""
    if page.eval_on_selector(selector, "e => e.tagName") == "SELECT":
        page.select_option(selector, value)
    else:
        page.fill(selector, value)


def fill_identity(walk: Walk, party: str, identity: IdentityData) -> None:
    page = walk.page
    page.select_option(f"#id_{party}-id_type", identity.id_type)
    page.fill(f"#id_{party}-id_number", identity.id_number)
    page.fill(f"#id_{party}-name", identity.name)
    page.fill(f"#id_{party}-date_of_birth", identity.date_of_birth.isoformat())
    page.check(f"input[name='{party}-sex'][value='{identity.sex}']")
    if identity.id_expiry:
        page.fill(f"#id_{party}-id_expiry", identity.id_expiry.isoformat())
    enter(page, f"#id_{party}-nationality", identity.nationality or "")
    page.fill(f"#id_{party}-address", identity.address or "")
    if page.is_visible(f"#id_{party}-language"):
        page.select_option(f"#id_{party}-language", walk.language)


def sign_in_page(walk: Walk) -> None:
    walk.page.goto("/sign-in/")
    assert walk.page.is_visible("#id_username")
    walk.look("sign-in")


def clerk_signs_in(walk: Walk) -> None:
    page = walk.page
    page.fill("#id_username", walk.clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#operator")
    assert walk.clerk.operator.name in walk.text("#operator")
    assert walk.text("#role") == walk.t("Clerk")
    walk.look("dashboard")


def store_index(walk: Walk) -> None:
    walk.page.goto("/store/")
    assert walk.text("h1") == walk.t("Store counter")
    walk.look("store")


def consent_given(walk: Walk, step: str, then: str = "details") -> None:
    page = walk.page
    page.wait_for_url("**/notice/")
    assert page.is_visible("#notice-zh-hans")
    assert page.is_visible("#notice-en")
    page.check("input[name=consent]")
    walk.look(f"{step}-notice")
    page.click("#give-consent")
    # A kind with nothing left to ask after consent goes straight to confirm.
    page.wait_for_url(f"**/{then}/")


def confirm_and_receipt(walk: Walk, step: str, details: bool = True) -> str:
    page = walk.page
    if details:
        page.click("#details-form button[type=submit]")
        page.wait_for_url("**/confirm/")
    walk.look(f"{step}-confirm")
    page.click("#submit-transaction")
    page.wait_for_url("**/store/transactions/*/")
    assert walk.text("#state") == walk.t("Completed")
    walk.look(f"{step}-receipt")
    return walk.text("#reference")


def mobile_opening(walk: Walk) -> None:
    page, identity = walk.page, walk.citizen()
    page.click("#start-mobile_open")
    fill_identity(walk, "applicant", identity)
    walk.look("opening-identity")
    page.click("#identity-form button[type=submit]")
    consent_given(walk, "opening")
    number = f"+86{FIRST_NUMBER + 3}"
    page.select_option("#id_number", number)
    walk.look("opening-details")
    reference = confirm_and_receipt(walk, "opening")
    tx = Transaction.objects.get(reference=reference)
    assert tx.state == TransactionState.COMPLETED
    assert walk.text("#kind") == walk.t("Mobile account opening")
    holder = walk.text("#holder")
    assert identity.id_number not in holder
    assert identity.name not in holder
    assert Line.objects.get(number=number).holder == tx.applicant
    walk.context.update(opened=number, opener=identity)


def transfer(walk: Walk) -> None:
    page = walk.page
    holder, line = walk.context["holder"], walk.context["line"]
    new_holder = walk.citizen()
    page.goto("/store/")
    page.click("#start-mobile_transfer")
    # The line is asked first: the identity step checks its holder at once.
    page.fill("#id_line", line.number)
    fill_identity(walk, "holder", holder)
    fill_identity(walk, "new_holder", new_holder)
    walk.look("transfer-identity")
    page.click("#identity-form button[type=submit]")
    consent_given(walk, "transfer", then="confirm")
    reference = confirm_and_receipt(walk, "transfer", details=False)
    assert walk.text("#kind") == walk.t("Mobile account transfer")
    assert new_holder.id_number not in page.content()
    line.refresh_from_db()
    assert line.holder == Transaction.objects.get(reference=reference).new_holder
    walk.context.update(
        transferred=reference, new_holder=line.holder, new_holder_identity=new_holder
    )


def transactions(walk: Walk) -> None:
    walk.page.goto("/store/transactions/")
    assert walk.context["transferred"] in walk.text("main")
    walk.look("transactions")


def line_lookup(walk: Walk) -> None:
    page = walk.page
    page.goto("/store/lines/")
    walk.look("lines")
    page.fill("#lookup-form input[name=number]", walk.context["opened"])
    page.click("#lookup-form button[type=submit]")
    page.wait_for_selector("#results")
    assert walk.t("Active") in walk.text("#results")
    walk.look("lines-result")


def clerk_signs_out(walk: Walk) -> None:
    walk.page.click("form[action$='/sign-out/'] button")
    walk.page.wait_for_url("**/sign-in/**")


# --- The console --------------------------------------------------------------------------------


def officer_signs_in(walk: Walk) -> None:
    page = walk.page
    device = otp_device_for(walk.officer.user)
    page.goto("/console/")
    page.fill("#id_username", walk.officer.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sign-in/code/**")
    walk.look("code")
    page.fill("#id_code", totp_code(device))
    page.click("#continue")
    page.wait_for_url("**/console/")
    page.wait_for_selector("#content")
    # The console's home: what needs someone, the clerk's correction among it.
    assert walk.text("#console-home-title") == walk.t("What needs someone")
    pending = "[data-count-key=corrections_pending] [data-count-value]"
    assert walk.text(pending) == "1"
    walk.look("console")


def correction_filed(walk: Walk) -> None:
    """The clerk files the new holder's correction from the transfer's receipt."""
    page = walk.page
    tx = Transaction.objects.get(reference=walk.context["transferred"])
    page.goto(f"/store/transactions/{tx.uid}/")
    page.click("#correction-link")
    page.wait_for_selector("#correction-form")
    assert walk.context["new_holder_identity"].id_number not in page.content()
    page.select_option("#id_field", "address")
    page.fill("#id_value", "北京市朝阳区样例路8号")
    page.fill("#id_note", walk.t("Note for the compliance officer"))
    walk.look("correction-form")
    page.click("#file-correction")
    page.wait_for_selector(".messages, .messagelist")
    filed = CorrectionRequest.objects.get(person=walk.context["new_holder"])
    assert filed.status == CorrectionStatus.PENDING
    assert filed.requested_by == walk.clerk.user
    walk.look("correction-filed")
    walk.context.update(correction=filed)


def correction(walk: Walk) -> None:
    """The officer sees old and new side by side and approves with a note."""
    filed = walk.context["correction"]
    page = walk.page
    page.goto("/console/identity/correctionrequest/")
    assert walk.t("Address") in walk.text("#result_list")
    walk.look("corrections")
    page.goto(f"/console/identity/correctionrequest/{filed.pk}/change/")
    page.wait_for_selector("form.correction-decision")
    walk.look("correction-side-by-side")
    page.fill("#id_note", walk.t("Note for the compliance officer"))
    page.click("button[name=decision][value=approve]")
    page.wait_for_selector(".messagelist")
    walk.look("correction-approved")
    filed.refresh_from_db()
    assert filed.status == CorrectionStatus.APPROVED
    assert filed.decided_by == walk.officer.user


def campaign_launch(walk: Walk) -> None:
    """Launch asks first: how many lines match and a masked sample."""
    page = walk.page
    campaign = walk.context["campaign"]
    page.goto("/console/reverification/campaign/")
    assert campaign.name in walk.text("#result_list")
    walk.look("campaigns")
    page.goto(f"/console/reverification/campaign/{campaign.pk}/change/")
    page.click("a.launchlink")
    page.wait_for_selector("#launch-confirm")
    assert walk.context["opened"] not in page.content()
    walk.look("campaign-launch-confirm")
    page.click("input[name=launch]")
    page.wait_for_selector(".messagelist")
    page.goto("/console/reverification/campaign/")
    walk.look("campaign-launched")
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert campaign.state != CampaignState.DRAFT
    # The worker's part, done here: plan, cut into batches, send.
    campaigns.campaign_plan(campaign=campaign)
    for pk in dispatch.batches_create(campaign=campaign):
        dispatch.batch_send(batch_id=pk)


# --- The subscriber -----------------------------------------------------------------------------


def _messages(walk: Walk) -> list[dict]:
    return [json.loads(line) for line in (walk.outbox / "file.jsonl").read_text().splitlines()]


def subscriber_answers(walk: Walk) -> None:
    number, identity = walk.context["opened"], walk.context["opener"]
    request = ReverificationRequest.objects.get(line__number=number)
    (message,) = [m for m in _messages(walk) if m["request"] == request.pk]
    assert message["link"].endswith(f"?lang={walk.language}")
    page = walk.context["subscriber_page"]
    sub = Walk(**{**walk.__dict__, "page": page})
    page.goto(message["link"])
    assert sub.text("h1") == _("Identity re-verification", walk.language)
    page.select_option("#id_id_type", identity.id_type)
    page.fill("#id_id_number", identity.id_number)
    page.fill("#id_name", identity.name)
    page.fill("#id_date_of_birth", identity.date_of_birth.isoformat())
    page.select_option("#id_sex", identity.sex)
    if identity.id_expiry:
        page.fill("#id_id_expiry", identity.id_expiry.isoformat())
    if page.is_visible("#id_nationality"):
        enter(page, "#id_nationality", identity.nationality or "")
    page.check("#id_consent")
    sub.look("answer", side="subscriber")
    page.click("#verify")
    page.wait_for_selector("#result, #form-error, .field-error")
    assert not page.is_visible("#form-error, .field-error"), page.text_content("main")
    assert sub.text("#result") == _(
        "Verified: thank you. Your line stays in service.", walk.language
    )
    sub.look("answer-verified", side="subscriber")
    walk.taken[:] = sub.taken
    request.refresh_from_db()
    assert request.state == RequestState.VERIFIED


def my_lines(walk: Walk) -> None:
    page, identity = walk.context["subscriber_page"], walk.context["opener"]
    sub = Walk(**{**walk.__dict__, "page": page})
    page.goto(f"/my-lines/?lang={walk.language}")
    assert sub.text("h1") == _("Lines under my ID", walk.language)
    page.select_option("#id_id_type", identity.id_type)
    page.fill("#id_id_number", identity.id_number)
    page.fill("#id_name", identity.name)
    sub.look("my-lines", side="subscriber")
    page.click("form:has(input[name=step][value=start]) button[type=submit]")
    page.wait_for_selector("#sent")
    sub.look("my-lines-code", side="subscriber")
    (sent,) = [m for m in _messages(walk) if m["kind"] == "code"]
    code = re.search(r"\b\d{6}\b", sent["text"]).group(0)
    page.fill("#id_code", code)
    page.click("form:has(input[name=step][value=code]) button[type=submit]")
    page.wait_for_selector("#my-lines")
    lines = sub.text("#my-lines")
    assert _("Mobile", walk.language) in lines
    assert _("Active", walk.language) in lines
    assert walk.context["opened"][-4:] in lines
    sub.look("my-lines-list", side="subscriber")
    walk.taken[:] = sub.taken


STEPS: list[Callable[[Walk], None]] = [
    sign_in_page,
    clerk_signs_in,
    store_index,
    mobile_opening,
    transfer,
    transactions,
    line_lookup,
    correction_filed,
    clerk_signs_out,
    officer_signs_in,
    correction,
    campaign_launch,
    subscriber_answers,
    my_lines,
]


# --- Set-up -------------------------------------------------------------------------------------


def _shop(language: str, make_staff) -> tuple[Operator, object, object]:
    """An operator speaking the walk's language, its notices in both,
    numbers, a clerk and a compliance officer."""
    names = {"zh-hans": ("华通电信", "朝阳营业厅"), "en": ("Alpha Telecom", "Chaoyang store")}
    operator_name, store_name = names[language]
    operator = OperatorFactory(code="walk", name=operator_name)
    Operator.objects.filter(pk=operator.pk).update(default_language=language)
    operator.refresh_from_db()
    store = StoreFactory(operator=operator, code="cy01", name=store_name)
    for notice_language, parts in (
        (NoticeLanguage.ZH, NOTICE_PARTS_ZH),
        (NoticeLanguage.EN, NOTICE_PARTS_EN),
    ):
        draft = identity_services.notice_draft_create(
            operator=operator, language=notice_language, parts=parts
        )
        identity_services.notice_publish(notice=draft, actor=None)
    PhoneNumber.objects.bulk_create(
        PhoneNumber(operator=operator, number=f"+86{FIRST_NUMBER + n}", kind=LineKind.MOBILE)
        for n in range(6)
    )
    clerk = make_staff(operator, Role.CLERK, store=store)
    officer = make_staff(operator, Role.COMPLIANCE_OFFICER)
    return operator, clerk, officer


def _line_to_transfer(
    operator: Operator, clerk, citizen, language: str
) -> tuple[Line, IdentityData]:
    holder = citizen(language=language)
    notice = identity_services.current_notices(operator)[0]
    opening = transaction_submit(
        actor=clerk.user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=holder,
            number=f"+86{FIRST_NUMBER}",
            consent=ConsentInput(notice.content_hash, True),
        ),
    )
    return opening.line, holder


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_walk_in_each_language(
    language, browser, live_server, make_staff, citizen, settings, tmp_path
):
    settings.TELEREG_OUTBOX_DIR = str(tmp_path)
    settings.TELEREG_PUBLIC_URL = live_server.url
    operator, clerk, officer = _shop(language, make_staff)
    line, holder = _line_to_transfer(operator, clerk, citizen, language)
    campaign = campaigns.campaign_create(
        operator=operator,
        data=campaigns.CampaignInput(
            name="2026 实名核验" if language == "zh-hans" else "2026 re-verification",
            criteria={"line_kind": "mobile"},
            deadline=timezone.localdate() + dt.timedelta(days=20),
            reminder_days=[7],
            channels=["file"],
        ),
        actor=officer.user,
    )
    shots = SCREENSHOTS / language
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    staff_context = browser.new_context(base_url=live_server.url, locale=BROWSER_LOCALES[language])
    subscriber_context = browser.new_context(
        base_url=live_server.url,
        locale=BROWSER_LOCALES[language],
        viewport={"width": 360, "height": 740},
    )
    for context in (staff_context, subscriber_context):
        context.add_init_script(WATCH)
    try:
        page = staff_context.new_page()
        page.set_default_timeout(15000)
        subscriber_page = subscriber_context.new_page()
        subscriber_page.set_default_timeout(15000)
        walk = Walk(
            page=page,
            language=language,
            shots=shots,
            clerk=clerk,
            officer=officer,
            citizen=lambda: citizen(language=language),
            outbox=tmp_path,
            context={
                "line": line,
                "holder": holder,
                "campaign": campaign,
                "subscriber_page": subscriber_page,
            },
        )
        for step in STEPS:
            step(walk)
    finally:
        staff_context.close()
        subscriber_context.close()
    assert sorted(p.name for p in shots.glob("*.png")) == [
        f"{n:02d}-{name}.png" for n, name in enumerate(walk.taken, start=1)
    ]
    assert len(walk.taken) >= 20
