"""The console home in a real browser: its script refreshes the counts from
the JSON twin (the page's clock moved on 30 s, no waiting), under the strict
CSP; and the console lists of this work fit a 1280 px wide window. The home
is photographed in both languages under var/screenshots/ for people to look at."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from operators.models import Language, Operator
from operators.roles import Role
from registration.models import LineKind, PhoneNumber, Transaction, TransactionState
from reverification.models import Campaign, CampaignState, Dispute

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _signed_in(page, live_server, client) -> None:
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


@pytest.fixture
def busy(alpha, make_staff, open_mobile):
    """Alpha with a line under dispute, a waiting transaction and a campaign running."""
    tx, _ = open_mobile()
    Dispute.objects.create(operator=alpha, line=tx.line, person=tx.line.holder)
    Transaction.objects.create(
        reference="ALPHA-WAIT",
        kind="mobile_open",
        state=TransactionState.PENDING_VERIFICATION,
        operator=alpha,
        store=tx.store,
        staff=tx.staff,
        line_kind="mobile",
    )
    Campaign.objects.create(
        operator=alpha,
        name="Spring re-verification of never-verified holders",
        deadline=timezone.localdate() + dt.timedelta(days=30),
        state=CampaignState.RUNNING,
        planned_count=1200,
    )
    return tx


def test_the_home_refreshes_its_counts_every_30_seconds_under_the_policy(
    page, live_server, alpha, busy, make_staff, web_client_for, open_mobile
):
    later, _ = open_mobile()
    officer = make_staff(alpha, Role.COMPLIANCE_OFFICER)
    _signed_in(page, live_server, web_client_for(officer))
    page.add_init_script(WATCH)
    page.clock.install()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/console/")
    disputes = page.locator('[data-count-key="disputes_open"] [data-count-value]')
    assert disputes.text_content() == "1"
    note = page.locator("[data-refreshed]")
    assert "every 30 seconds" in note.text_content()  # the script took over the note
    # Another dispute arrives; the page learns of it on its next poll.
    Dispute.objects.create(operator=alpha, line=later.line, person=later.line.holder)
    page.clock.fast_forward(30_000)
    expect(disputes).to_have_text("2")
    assert page.evaluate("window.__cspViolations") == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-home-en.png"), full_page=True)
    Operator.objects.filter(pk=alpha.pk).update(default_language=Language.ZH_HANS)
    page.goto("/console/")
    assert page.locator("#console-home-title").text_content() == "待处理事项"
    page.screenshot(path=str(SCREENSHOTS / "console-home-zh-hans.png"), full_page=True)


@pytest.mark.parametrize("role", [Role.COMPLIANCE_OFFICER, Role.OPERATOR_ADMIN])
def test_the_console_lists_of_this_work_fit_1280_pixels(
    page, live_server, alpha, busy, make_staff, web_client_for, role
):
    PhoneNumber.objects.create(operator=alpha, number="+8613900000001", kind=LineKind.MOBILE)
    _signed_in(page, live_server, web_client_for(make_staff(alpha, role)))
    page.set_viewport_size({"width": 1280, "height": 900})
    urls = {
        Role.COMPLIANCE_OFFICER: [
            "/console/",
            "/console/registration/transaction/",
            "/console/registration/line/",
            "/console/reverification/campaign/",
            "/console/identity/accesslogentry/",
        ],
        Role.OPERATOR_ADMIN: [
            "/console/",
            "/console/registration/phonenumber/",
            "/console/registration/phonenumber/load/",
        ],
    }[role]
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, (url, width)
