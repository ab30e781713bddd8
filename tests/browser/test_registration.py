"""A clerk takes transactions in a real browser: sign in, walk the wizard, see
the receipt; and sees an invalid document number's reason beside its field."""

from __future__ import annotations

from dataclasses import replace

import pytest

from identity import services as identity_services
from identity.models import NoticeLanguage, Person
from identity.services import ConsentInput
from identity.types import IdentityData
from operators.roles import Role
from registration.models import Line, LineKind, PhoneNumber, Transaction, TransactionState
from registration.services import TransactionRequest, transaction_submit
from tests.conftest import NOTICE_PARTS_EN
from tests.factories import PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NOTICE_PARTS_ZH = {
    "purpose": "依法登记电话用户真实身份信息。",
    "manner": "在营业厅采集。",
    "scope": "姓名、出生日期、证件号码、住址。",
    "retention": "注销后两年。",
    "query_and_correction": "营业厅或自助页面。",
    "consequences_of_refusal": "无法办理业务。",
}


@pytest.fixture
def counter_setup(alpha, make_staff):
    """Alpha's notice in both languages, five mobile numbers and a clerk."""
    notices = []
    for language, parts in (
        (NoticeLanguage.ZH, NOTICE_PARTS_ZH),
        (NoticeLanguage.EN, NOTICE_PARTS_EN),
    ):
        draft = identity_services.notice_draft_create(
            operator=alpha, language=language, parts=parts
        )
        notices.append(identity_services.notice_publish(notice=draft, actor=None))
    PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(operator=alpha, number=f"+86{13800138000 + n}", kind=LineKind.MOBILE)
            for n in range(5)
        ]
    )
    return {"clerk": make_staff(alpha, Role.CLERK), "notices": notices}


@pytest.fixture
def citizens(citizen):
    """Synthetic citizens known to the simulated authority (tests/conftest.py)."""
    return citizen


def sign_in(page, clerk) -> None:
    page.goto("/sign-in/")
    page.fill("#id_username", clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("#operator")


def fill_identity(page, party: str, identity: IdentityData) -> None:
    page.select_option(f"#id_{party}-id_type", identity.id_type)
    page.fill(f"#id_{party}-id_number", identity.id_number)
    page.fill(f"#id_{party}-name", identity.name)
    page.fill(f"#id_{party}-date_of_birth", identity.date_of_birth.isoformat())
    page.check(f"input[name='{party}-sex'][value='{identity.sex}']")
    if identity.id_expiry:
        page.fill(f"#id_{party}-id_expiry", identity.id_expiry.isoformat())
    page.select_option(f"#id_{party}-nationality", identity.nationality or "")
    page.fill(f"#id_{party}-address", identity.address or "")


def consent_and_continue(page, next_step: str = "details") -> None:
    page.wait_for_url("**/notice/")
    assert page.is_visible("#notice-zh-hans")
    assert page.is_visible("#notice-en")
    page.check("input[name=consent]")
    page.click("#give-consent")
    page.wait_for_url(f"**/{next_step}/")


def confirm_and_read_receipt(page, details: bool = True) -> str:
    if details:
        page.click("text=Continue to confirmation")
    page.wait_for_url("**/confirm/")
    page.click("#submit-transaction")
    page.wait_for_url("**/store/transactions/*/")
    return page.text_content("#reference").strip()


def test_clerk_opens_a_mobile_account_and_gets_a_receipt(page, counter_setup, citizens):
    identity = citizens()
    sign_in(page, counter_setup["clerk"])
    page.click("#store-links a.button")
    page.click("#start-mobile_open")
    fill_identity(page, "applicant", identity)
    page.click("text=Check identity and continue")
    consent_and_continue(page)
    page.fill("#id_pattern", "8003")
    page.click("text=Show matching numbers")
    page.wait_for_url("**/details/?pattern=8003")
    page.select_option("#id_number", "+8613800138003")
    reference = confirm_and_read_receipt(page)

    tx = Transaction.objects.get(reference=reference)
    assert tx.state == TransactionState.COMPLETED
    assert page.text_content("#state").strip() == "Completed"
    assert "138 0013 8003" in page.text_content("#line-number")  # grouped for reading
    holder = page.text_content("#holder")
    assert identity.id_number not in holder
    assert identity.name not in holder
    assert identity.id_number[-4:] in holder
    assert tx.notice_hash[:12] in page.text_content("#notice")  # the short hash
    assert Line.objects.get(number="+8613800138003").holder == tx.applicant


def test_clerk_transfers_a_mobile_line_to_a_new_holder(page, counter_setup, citizens):
    holder, new_holder = citizens(), citizens()
    opening = transaction_submit(
        actor=counter_setup["clerk"].user,
        request=TransactionRequest(
            kind="mobile_open",
            applicant=holder,
            consent=ConsentInput(counter_setup["notices"][0].content_hash, True),
        ),
    )
    line = opening.line
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/")
    page.click("#start-mobile_transfer")
    page.fill("#id_line", line.number)
    fill_identity(page, "holder", holder)
    fill_identity(page, "new_holder", new_holder)
    page.click("text=Check identity and continue")
    # The line and its holder were checked with the identities: nothing is
    # left for a details step.
    consent_and_continue(page, next_step="confirm")
    assert page.is_visible("#holder-confirmed")
    reference = confirm_and_read_receipt(page, details=False)

    assert page.text_content("#kind").strip() == "Mobile account transfer"
    assert page.text_content("#state").strip() == "Completed"
    assert new_holder.id_number not in page.content()
    line.refresh_from_db()
    tx = Transaction.objects.get(reference=reference)
    assert line.holder == tx.new_holder
    assert line.holder != opening.applicant


def test_invalid_id_number_is_shown_beside_the_id_number_field(page, counter_setup, citizens):
    identity = citizens()
    wrong_digit = "1" if identity.id_number[-1] != "1" else "2"
    broken = replace(identity, id_number=identity.id_number[:-1] + wrong_digit)
    sign_in(page, counter_setup["clerk"])
    page.goto("/store/new/mobile_open/")
    fill_identity(page, "applicant", broken)
    page.click("text=Check identity and continue")
    error = page.wait_for_selector("#field-applicant-id_number #error-applicant-id_number")
    assert "check digit" in error.text_content()
    assert page.input_value("#id_applicant-id_number") == broken.id_number
    assert Person.objects.count() == 0
    assert Transaction.objects.count() == 0
