"""A clerk signs in, accepts the undertaking, and lands on the dashboard; a
compliance officer enters the authenticator code after the password."""

from __future__ import annotations

import pytest

from operators.roles import Role
from tests.conftest import otp_device_for, totp_code
from tests.factories import PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_clerk_signs_in_accepts_undertaking_and_sees_dashboard(alpha, make_staff, page):
    clerk = make_staff(alpha, Role.CLERK, accepted=False)
    page.goto("/")
    page.fill("#id_username", clerk.user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/undertaking/**")
    assert "Confidentiality undertaking" in page.text_content("h1")
    page.check("input[name=accept]")
    page.click("text=Accept and continue")
    page.wait_for_selector("#operator")
    assert "Alpha Telecom" in page.text_content("#operator")
    assert page.text_content("#role").strip() == "Clerk"
    clerk.refresh_from_db()
    assert clerk.confidentiality_accepted_at is not None


def test_wrong_password_shows_the_reason_on_the_page(alpha, make_staff, page):
    clerk = make_staff(alpha, Role.CLERK)
    page.goto("/sign-in/")
    page.fill("#id_username", clerk.user.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".error")
    assert "not correct" in page.text_content(".error")


def test_compliance_officer_enters_the_code_after_the_password_and_reaches_the_console(
    alpha, make_staff, page
):
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    device = otp_device_for(officer.user)
    page.goto("/console/")
    page.fill("#id_username", officer.user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sign-in/code/**")
    page.fill("#id_code", "000000" if totp_code(device) != "000000" else "111111")
    page.click("#continue")
    page.wait_for_selector("#code-error")
    assert "not correct" in page.text_content("#code-error")
    page.fill("#id_code", totp_code(device))
    page.click("#continue")
    page.wait_for_url("**/console/")
    assert "telereg console" in page.content()
