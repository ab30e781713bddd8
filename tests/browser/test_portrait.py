"""The portrait check in a real browser (issue 14): at beta, which requires
portraits, a clerk captures a portrait from a file at the wizard's capture
step (the preview shows it) and finishes the opening; another opening goes to
review and beta-compliance (password and authenticator code) reveals the two
portraits in the console and approves it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from identity import portraits
from identity import services as identity_services
from identity.models import NoticeLanguage
from identity.services import CitizenRow
from identity.synthetic_portraits import flip_bits, pattern_image
from operators.roles import Role
from registration.models import LineKind, PhoneNumber, PortraitReview, Transaction
from tests.browser.test_registration import (
    NOTICE_PARTS_ZH,
    consent_and_continue,
    fill_identity,
    sign_in,
)
from tests.conftest import NOTICE_PARTS_EN, otp_device_for, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BITS = 0x6699_C3C3_1E1E_A55A
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


@pytest.fixture
def beta_counter(beta, make_staff):
    beta.portrait_policy = "required"
    beta.save()
    for language, parts in (
        (NoticeLanguage.ZH, NOTICE_PARTS_ZH),
        (NoticeLanguage.EN, NOTICE_PARTS_EN),
    ):
        draft = identity_services.notice_draft_create(operator=beta, language=language, parts=parts)
        identity_services.notice_publish(notice=draft, actor=None)
    PhoneNumber.objects.bulk_create(
        [
            PhoneNumber(operator=beta, number=f"+86{13900139000 + n}", kind=LineKind.MOBILE)
            for n in range(5)
        ]
    )
    return make_staff(beta, Role.CLERK)


@pytest.fixture
def pictured(make_identity):
    def make():
        identity = make_identity()
        identity_services.authority_registry_load(
            [
                CitizenRow(
                    id_type=identity.id_type,
                    id_number=identity.id_number,
                    name=identity.name,
                    date_of_birth=identity.date_of_birth,
                    sex=identity.sex,
                    revoked=False,
                    portrait=portraits.image_clean(pattern_image(BITS)),
                )
            ]
        )
        return identity

    return make


def open_with_portrait(page, tmp_path, identity, flipped: int) -> str:
    photo = tmp_path / f"portrait-{flipped}.jpg"
    photo.write_bytes(pattern_image(flip_bits(BITS, flipped), fmt="JPEG"))
    page.goto("/")
    page.click("#store-links a.button")
    page.click("#start-mobile_open")
    fill_identity(page, "applicant", identity)
    page.click("text=Check identity and continue")
    consent_and_continue(page)
    page.click("text=Continue to confirmation")
    page.wait_for_url("**/confirm/")
    assert page.get_attribute("#portrait-image", "capture") == "user"
    page.set_input_files("#portrait-image", str(photo))
    page.wait_for_selector("#portrait-preview:not([hidden])")
    assert page.get_attribute("#portrait-preview", "src").startswith("data:image/")
    page.select_option("#portrait-liveness", "passed")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "portrait-capture-step.png"), full_page=True)
    page.click("#submit-transaction")
    page.wait_for_url("**/store/transactions/*/")
    return page.text_content("#reference").strip()


def test_a_clerk_captures_a_portrait_from_a_file_and_opens_the_line(
    page, tmp_path, beta_counter, pictured
):
    sign_in(page, beta_counter)
    reference = open_with_portrait(page, tmp_path, pictured(), flipped=0)
    tx = Transaction.objects.get(reference=reference)
    assert tx.state == "completed"
    assert tx.portrait_outcome == "passed"
    assert tx.line.status == "active"


def test_a_portrait_sent_to_review_is_approved_by_beta_compliance(
    page, browser, live_server, tmp_path, beta, beta_counter, pictured, make_staff
):
    sign_in(page, beta_counter)
    reference = open_with_portrait(page, tmp_path, pictured(), flipped=10)
    assert page.is_visible("#review-note")
    tx = Transaction.objects.get(reference=reference)
    assert tx.state == "pending_review"
    review = PortraitReview.objects.get(transaction=tx)

    officer = make_staff(
        beta, Role.COMPLIANCE_OFFICER, user=UserFactory(username="beta-compliance")
    )
    device = otp_device_for(officer.user)
    context = browser.new_context(base_url=live_server.url)
    console = context.new_page()
    console.set_default_timeout(15000)
    try:
        console.goto("/console/")
        console.fill("#id_username", "beta-compliance")
        console.fill("#id_password", PASSWORD)
        console.click("button[type=submit]")
        console.wait_for_url("**/sign-in/code/**")
        console.fill("#id_code", totp_code(device))
        console.click("#continue")
        console.wait_for_url("**/console/")
        console.goto(reverse("console:registration_portraitreview_change", args=[review.pk]))
        assert console.text_content("#review-clerk").strip() == beta_counter.user.username
        console.fill("#portrait-review .correction-reveal textarea", "portrait review")
        console.click("#reveal-portraits")
        console.wait_for_selector("#live-image")
        assert console.is_visible("#reference-image")
        console.screenshot(path=str(SCREENSHOTS / "portrait-review.png"), full_page=True)
        # The images are data: URLs, which the CSP allows: they load.
        width = console.evaluate("document.getElementById('live-image').naturalWidth")
        assert width > 0
        console.fill("#portrait-review .correction-decision textarea", "same person, checked")
        console.click("#approve-review")
        console.wait_for_selector("#review-decision")
    finally:
        context.close()
    tx.refresh_from_db()
    assert tx.state == "completed"
    assert tx.line.status == "active"
