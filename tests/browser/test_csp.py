"""Pages still work under the Content-Security-Policy: the browser reports no
violation on the sign-in page, the wizard and the receipt, and the receipt's
print button (a static script now, no inline handler) still prints."""

from __future__ import annotations

import pytest

from tests.browser import test_registration as wizard
from tests.browser.test_registration import (
    confirm_and_read_receipt,
    consent_and_continue,
    fill_identity,
    sign_in,
)

# The wizard's fixtures, shared with its own browser tests.
counter_setup = wizard.counter_setup
citizens = wizard.citizens

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Recorded by the page itself, before any of its own scripts run (Playwright's
# init scripts are not subject to the page's policy).
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""


def _script_src(response) -> list[str]:
    header = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}
    return directives["script-src"]


def _violations(page, console: list[str]) -> list[str]:
    reported = page.evaluate("window.__cspViolations")
    return reported + [m for m in console if "Content Security Policy" in m]


def test_sign_in_wizard_and_receipt_run_without_a_policy_violation(page, counter_setup, citizens):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)

    response = page.goto("/sign-in/")
    assert _script_src(response) == ["'self'"]
    assert page.evaluate("document.querySelector('link[rel=stylesheet]').sheet !== null")
    assert _violations(page, console) == []

    sign_in(page, counter_setup["clerk"])
    page.goto("/store/new/mobile_open/")
    fill_identity(page, "applicant", citizens())
    assert _violations(page, console) == []
    page.click("text=Check identity and continue")
    consent_and_continue(page)
    page.fill("#number-search-input", "8")  # the page's own script, under the policy
    page.select_option("#id_number", "")
    confirm_and_read_receipt(page)
    page.click("[data-print]")
    page.wait_for_function("window.__printed === 1")
    assert _violations(page, console) == []


def test_console_pages_run_without_a_policy_violation(
    page, live_server, alpha, make_staff, web_client_for
):
    from django.conf import settings

    from operators.roles import Role

    # Signed in as the console's test client is (web_client_for), its session
    # cookie handed to the browser: the console's own pages are under test here.
    client = web_client_for(make_staff(alpha, Role.COMPLIANCE_OFFICER))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    for url in (
        "/console/",
        "/console/registration/line/",
        "/console/reverification/campaign/",
        "/console/reverification/campaign/add/",
    ):
        response = page.goto(url)
        assert response.status == 200, url
        assert page.url.endswith(url)  # not sent to the sign-in page
        page.wait_for_selector("#content")
        assert _violations(page, console) == [], url


def test_api_docs_page_renders_under_its_policy(page):
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(WATCH)
    response = page.goto("/api/docs/")
    assert _script_src(response) == ["'self'"]
    page.wait_for_selector(".swagger-ui .info .title")
    assert "telereg API" in page.text_content(".swagger-ui .info .title")
    assert _violations(page, console) == []
